"""Steady load on an address: clients that reconnect for each request and clients that hold a
keep-alive connection, counting every request and every failure (an error or a non-200),
for as long as it runs. The cluster tests and the cluster bench share it."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter


class Load:
    def __init__(self, host: str, port: int, clients: int = 6) -> None:
        self.host, self.port = host, port
        self.ok = 0
        self.failures: Counter[str] = Counter()
        self.bodies: Counter[bytes] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(i % 2 == 0,), daemon=True) for i in range(clients)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    @property
    def requests(self) -> int:
        return self.ok + sum(self.failures.values())

    def _client(self, keep_alive: bool) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                conn.request("GET", "/", headers={"Host": "localhost"})
                response = conn.getresponse()
                body = response.read()
                with self._lock:
                    if response.status == 200:
                        self.ok += 1
                        self.bodies[body] += 1
                    else:
                        self.failures[f"HTTP {response.status}"] += 1
                if not keep_alive or response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                with self._lock:
                    self.failures[type(exc).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
