"""The FastAPI application: assembles feature routers, middleware and error handlers."""
