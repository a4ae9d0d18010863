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
    expect: bytes,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop:
                return
            writer.write(request)
            status = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:].strip())
            await reader.readexactly(length)
            end = time.perf_counter()
            if start >= warm:
                if status.split(b" ", 2)[1] != expect:
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
                _client(host, port, request, stop, warm, latencies, errors, str(expect).encode())
                for _ in range(clients)
            )
        )

    asyncio.run(main())
    return LoadResult(len(latencies), len(errors), seconds, latencies)
