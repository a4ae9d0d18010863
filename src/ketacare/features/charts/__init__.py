"""Every chart ketacare draws: one style, one palette, one lock, one way to render.

* ``style``: the matplotlib settings every chart is drawn under and the colours.
* ``render``: the lock around matplotlib's process-global ``rcParams`` (:func:`drawing`), and
  output as SVG for pages (:func:`page_svg`, CSP-safe), PNG or PDF bytes, or a file.
* ``trajectory``: a patient's totals over time over the severity bands (hand-written SVG, for
  pages and, embedded as vector graphics, for PDFs).
* ``outcomes``: Kaplan–Meier and response/remission charts of the outcome analytics.

Charts of a feature's own data (the plan and session PK charts, the REMS form) are drawn in
that feature, inside :func:`ketacare.features.charts.render.drawing`.
"""
