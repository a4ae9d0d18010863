"""Clinical notes: nursing notes in a session, psychiatric evaluations and progress notes from
clinic templates; draft, signed (never changed), addenda (docs/notes.md)."""
