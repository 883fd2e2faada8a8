"""Write src/reelserve/client/_async.py from _sync.py, so the two clients never drift apart.

`python scripts/gen_async_client.py` rewrites it; `--check` exits 1 if it is stale (run by the tests).
Each replacement must match, so a change in _sync.py that the rules do not cover fails loudly.
"""

from __future__ import annotations

import sys
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1] / "src" / "reelserve" / "client"


def generate(s: str) -> str:
    R = [
        ('"""The blocking client: `Client` and the `RequestHandle` it gives back.', '"""The asyncio client: `AsyncClient` and the `AsyncRequestHandle` it gives back.'),
        ("_async.py is generated from this file by scripts/gen_async_client.py (a test keeps them in step):\nedit this one, then run the script.",
         "GENERATED from _sync.py by scripts/gen_async_client.py: do not edit; edit _sync.py and run the script."),
        ("import time\n", "import asyncio\n"),
        ("from httpx_sse import connect_sse\n", "from httpx_sse import aconnect_sse\n"),
        ("class Client(ClientBase):", "class AsyncClient(ClientBase):"),
        ('"""`Client(base_url, api_key)`', '"""`AsyncClient(base_url, api_key)`'),
        ("httpx.BaseTransport", "httpx.AsyncBaseTransport"),
        ("httpx.Client(", "httpx.AsyncClient("),
        ("    def close(self) -> None:\n        self._http.close()", "    async def aclose(self) -> None:\n        await self._http.aclose()"),
        ("    def __enter__(self) -> Client:\n        return self\n\n    def __exit__(self, *exc: object) -> None:\n        self.close()",
         "    async def __aenter__(self) -> AsyncClient:\n        return self\n\n    async def __aexit__(self, *exc: object) -> None:\n        await self.aclose()"),
    ]
    for a, b in R:
        assert a in s, a
        s = s.replace(a, b)
    for name in ["submit", "run", "webhook_secret", "list_requests", "_send", "_json", "_with_retries", "_download", "_fetch_to", "status", "result",
                 "cancel", "wait", "_follow", "download"]:
        s = s.replace(f"    def {name}(", f"    async def {name}(")
    R2 = [
        ("-> RequestHandle:", "-> AsyncRequestHandle:"), ("return RequestHandle(", "return AsyncRequestHandle("),
        ("class RequestHandle:", "class AsyncRequestHandle:"), ("client: Client,", "client: AsyncClient,"),
        ('f"RequestHandle(', 'f"AsyncRequestHandle('), ("time.sleep(", "await asyncio.sleep("),
        ("response = attempt_once(", "response = await attempt_once("), ("self.client._json(", "await self.client._json("),
        ("= self._json(", "= await self._json("), ("self._body(self._send(", "self._body(await self._send("),
        ("return self._with_retries(", "return await self._with_retries("),
        ("response = self._with_retries(", "response = await self._with_retries("),
        ("handle.wait(", "await handle.wait("), ("handle.download(", "await handle.download("),
        ("= self.submit(model_id", "= await self.submit(model_id"), ("waiter.seen(self.status())", "waiter.seen(await self.status())"),
        ("return self.result()", "return await self.result()"), ("result or self.result()", "result or await self.result()"),
        ("self.client._download(", "await self.client._download("), ("with self._http.stream(", "async with self._http.stream("),
        ("for chunk in response.iter_bytes():", "async for chunk in response.aiter_bytes():"), ("response.read()", "await response.aread()"),
        ("result = self._follow(waiter)", "result = await self._follow(waiter)"),
        ("with connect_sse(", "async with aconnect_sse("), ("for event in source.iter_sse():", "async for event in source.aiter_sse():"),
    ]
    for a, b in R2:
        assert a in s, a
        s = s.replace(a, b)
    return s


def main() -> int:
    generated = generate((CLIENT / "_sync.py").read_text())
    target = CLIENT / "_async.py"
    if "--check" in sys.argv:
        return 0 if target.read_text() == generated else 1
    target.write_text(generated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
