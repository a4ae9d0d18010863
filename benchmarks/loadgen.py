"""A small closed-loop HTTP/1.1 load generator (keep-alive, N concurrent clients, loopback)."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    """Throughput and latency of one run."""

    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return self.percentile(99)


async def _client(
    host: str,
    port: int,
    request: bytes,
    stop: float,
    warm: float,
    out: list[float],
    errors: list[int],
    expect: int,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop:
                return
            writer.write(request)
            status = await _read_response(reader)
            end = time.perf_counter()
            if start >= warm:
                if status != expect:
                    errors.append(1)
                out.append((end - start) * 1000)
    finally:
        writer.close()


def run(
    host: str,
    port: int,
    path: str,
    body: bytes,
    expect: int,
    clients: int = 50,
    seconds: float = 5.0,
    warmup: float = 1.0,
) -> LoadResult:
    """Drive ``POST path`` with ``clients`` concurrent keep-alive connections."""
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    latencies: list[float] = []
    errors: list[int] = []

    async def main() -> None:
        now = time.perf_counter()
        warm, stop = now + warmup, now + warmup + seconds
        await asyncio.gather(
            *(
                _client(host, port, request, stop, warm, latencies, errors, expect)
                for _ in range(clients)
            )
        )

    asyncio.run(main())
    return LoadResult(len(latencies), len(errors), seconds, latencies)


@dataclass(frozen=True)
class Request:
    """One HTTP request of an open-loop workload."""

    kind: str
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    expect: tuple[int, ...] = (200,)


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, req: Request
) -> int:
    head = f"{req.method} {req.path} HTTP/1.1\r\nHost: {host}\r\n"
    for name, value in req.headers:
        head += f"{name}: {value}\r\n"
    if req.body:
        head += f"Content-Length: {len(req.body)}\r\n"
    writer.write(head.encode() + b"\r\n" + req.body)
    return await _read_response(reader)


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length bodies only); return its status."""
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        if line[:15].lower() == b"content-length:":
            length = int(line[15:].strip())
    await reader.readexactly(length)
    return int(status_line.split(b" ", 2)[1])


def run_open(
    host: str,
    port: int,
    requests: list[Request],
    rate: float,
    connections: int = 64,
    drain: float = 30.0,
) -> dict[str, LoadResult]:
    """Issue ``requests`` at a fixed arrival ``rate`` (per second), whatever the server does.

    Latency is measured from each request's scheduled start, so a slow server cannot hide
    queueing by slowing the generator down (no coordinated omission). Requests still
    unanswered ``drain`` seconds after the last scheduled start are abandoned: each counts as
    an error with its latency so far (a collapsed server would otherwise take minutes).
    """
    results: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    seconds = len(requests) / rate

    async def main() -> None:
        pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        for _ in range(connections):
            pool.put_nowait(await asyncio.open_connection(host, port))
        t0 = time.perf_counter() + 0.2

        async def one(i: int, req: Request) -> None:
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            reader, writer = await pool.get()
            try:
                status = await _send(reader, writer, host, req)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors[req.kind] = errors.get(req.kind, 0) + 1
                reader, writer = await asyncio.open_connection(host, port)
                status = 0
            pool.put_nowait((reader, writer))
            results.setdefault(req.kind, []).append((time.perf_counter() - scheduled) * 1000)
            if status not in req.expect:
                errors[req.kind] = errors.get(req.kind, 0) + (status != 0)

        tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(requests)]
        _done, late = await asyncio.wait(tasks, timeout=0.2 + seconds + drain)
        now = time.perf_counter()
        for i, task in enumerate(tasks):
            if task in late:
                task.cancel()
                kind = requests[i].kind
                results.setdefault(kind, []).append((now - (t0 + i / rate)) * 1000)
                errors[kind] = errors.get(kind, 0) + 1
        if late:
            await asyncio.wait(late)
        while not pool.empty():
            _, writer = pool.get_nowait()
            writer.close()

    asyncio.run(main())
    return {
        kind: LoadResult(len(lat), errors.get(kind, 0), seconds, lat)
        for kind, lat in sorted(results.items())
    }
