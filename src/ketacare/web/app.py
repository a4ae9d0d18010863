"""Application factory. ``ketacare serve`` runs :func:`create_app` under uvicorn."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import ketacare
from ketacare.db.engine import get_engine, session_factory
from ketacare.features import registry
from ketacare.features._kit.templating import templates
from ketacare.features.assessments import carry
from ketacare.features.audit import service as audit_service
from ketacare.features.jobs.runner import PeriodicTask
from ketacare.features.screening import convert
from ketacare.features.screening.fastpath import ScreeningFastPath
from ketacare.features.screening.writer import ScreeningWriter
from ketacare.settings import Settings, get_settings
from ketacare.web import errors
from ketacare.web.middleware import AdmissionLimit, SecurityMiddleware

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


#: The app's own routes, declared once at import like the features' routes: FastAPI analyses
#: a route's dependencies and builds its response field when the route is declared, some 2 ms
#: for these five, which the suite paid for each of its 1,500 apps.
own = APIRouter()


@own.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@own.get("/docs", include_in_schema=False)
async def api_docs() -> HTMLResponse:
    """Swagger UI for the JSON API."""
    return HTMLResponse(templates.get_template("docs.html").render())


@own.get("/favicon.ico", include_in_schema=False)
async def favicon() -> FileResponse:
    """The site icon (browsers ask for it at this path)."""
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/x-icon")


@own.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "down"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "up"})


@own.get("/version", include_in_schema=False)
def version() -> dict[str, str]:
    """Version of the running code."""
    return {"version": ketacare.__version__}


def routers() -> list[APIRouter]:
    """The features' routers in registry order (busiest first: ``FEATURE_MODULES``)."""
    found = registry.routers()
    for router in found:
        assert isinstance(router, APIRouter), router
    return [r for r in found if isinstance(r, APIRouter)]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()
    audit_service.use_settings(settings)
    engine = get_engine(settings.database_url)
    writer = ScreeningWriter(settings)
    periodic = PeriodicTask(session_factory(engine), settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        await periodic.start()
        # Move start-up objects out of the collector's reach: fewer and shorter gen-2 pauses.
        gc.collect()
        gc.freeze()
        yield
        await periodic.stop()
        await writer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="ketacare API",
        version=ketacare.__version__,
        description="JSON API of ketacare. Authenticate with `Authorization: Bearer <token>` "
        "(create one with `ketacare token create`).",
        docs_url=None,  # served below from local files (no CDN), under the strict CSP
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.screening_writer = writer
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    # Intake saves carry the intake PHQ-9 into the measurement record (assessments/carry.py).
    app.state.intake_saved = carry.intake_saved
    # The patient page links to the consultation request the patient came from.
    app.state.patient_links = convert.patient_links
    # Added first, so it runs inside SecurityMiddleware (which adds the headers and limits).
    app.add_middleware(ScreeningFastPath)
    app.add_middleware(
        SecurityMiddleware,
        max_body_bytes=settings.max_body_bytes,
        secure_cookies=settings.secure_cookies,
    )
    # Outside the rest: a request waits for admission before it touches anything.
    app.add_middleware(
        AdmissionLimit,
        limit=settings.worker_concurrency,
        live=registry.live_paths(),
        live_limit=settings.worker_live_concurrency,
    )
    if settings.trusted_proxies.strip():
        # Outermost: the client address that rate limits and the audit see is the real one.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    errors.install(app)
    # Swagger UI 5 (Apache-2.0) as shipped by the fastapi-offline package (MIT): /docs works
    # offline and under the strict CSP (no CDN, no inline script or style).
    swagger_dir = Path(str(resources.files("fastapi_offline") / "static"))
    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_dir), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # The features' routes themselves, not ``include_router``: FastAPI (0.16x) wraps an
    # included router and rebuilds every route's dependencies for each app on its first
    # request (about 0.3 s; once per worker in production, once per test app in the suite).
    # The routers are included with no prefix, tags or dependencies of their own, so their
    # routes, built once at import, serve every app of the process unchanged.
    for router in routers():
        app.router.routes.extend(router.routes)
    app.router.routes.extend(own.routes)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory``."""
    return create_app()
