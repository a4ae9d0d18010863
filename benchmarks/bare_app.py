"""The peer for benchmarks/screening_api.py: a bare FastAPI endpoint returning a constant."""

from fastapi import FastAPI

app = FastAPI()
CONSTANT = {"ok": True}


@app.post("/bare")
async def bare() -> dict[str, bool]:
    """Return a constant (the request body is read by the server and ignored)."""
    return CONSTANT
