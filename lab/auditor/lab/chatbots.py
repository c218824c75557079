"""The three chat platforms' group-robot webhooks on loopback (the tests' and the monitoring demo's),
checking each request as the platform documents it (DingTalk custom robot, Feishu custom bot,
WeCom group robot).

One threaded HTTP server on 127.0.0.1 answers all three, at their own paths:

* ``/robot/send?access_token=T[&timestamp=&sign=]`` (DingTalk): an unknown token is 300001; with a
  signing secret the ``sign`` query value must equal Base64(HmacSHA256(secret,
  "timestamp\\nsecret")) for a millisecond timestamp within an hour of this machine's clock, else
  310000 "sign not match"; a body over 20,000 bytes is 460101; ``msgtype`` must be ``text``
  (``text.content``) or ``markdown`` (``markdown.title`` and ``markdown.text``).
* ``/open-apis/bot/v2/hook/<token>`` (Feishu): an unknown token is 19001; a body over 20,000
  bytes is 9499 "Bad Request"; with a secret the body's ``timestamp`` (seconds, a string) must be
  within an hour and ``sign`` equal Base64(HmacSHA256(key="timestamp\\nsecret", msg="")), else
  19021; ``msg_type`` must be ``text`` (``content.text``) or ``post`` (``content.post.<locale>``
  with ``title`` and ``content`` rows of ``text``/``a`` elements).
* ``/cgi-bin/webhook/send?key=K`` (WeCom): an unknown key is 93000; ``text.content`` over 2048
  bytes of UTF-8 or ``markdown.content`` over 4096 is 40058; other types 40008.

Success is each platform's own answer (``{"errcode":0,"errmsg":"ok"}``, or Feishu's ``{"code":0,
"msg":"success", ...}``). ``fail_with`` makes the next requests answer an HTTP status first (503
for a platform having a bad moment); ``echo`` makes error messages repeat the request line, token
included, as a careless server might, so a test can show the client masks it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 20_000
WECOM_LIMITS = {"text": 2048, "markdown": 4096}
HOUR_S = 3600


@dataclass
class Robot:
    platform: str  # dingtalk | feishu | wecom
    token: str
    secret: str | None = None
    legacy: bool = False  # Feishu: answer with the old StatusCode/StatusMessage fields only


@dataclass
class Seen:
    """One request as the server received it, and what it answered."""

    platform: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 200
    answer: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Platforms:
    """What the server knows (robots), does (fail_with, echo) and saw (requests)."""

    def __init__(self) -> None:
        self.robots: dict[tuple[str, str], Robot] = {}
        self.requests: list[Seen] = []
        self.fail_with: list[int] = []
        self.echo = False
        self.base = ""
        self._lock = threading.Lock()

    def add(self, robot: Robot) -> Robot:
        self.robots[(robot.platform, robot.token)] = robot
        return robot

    @property
    def dingtalk(self) -> str:
        return f"{self.base}/robot/send"

    @property
    def feishu(self) -> str:
        return f"{self.base}/open-apis/bot/v2/hook/"

    @property
    def wecom(self) -> str:
        return f"{self.base}/cgi-bin/webhook/send"

    # ------------------------------------------------------------------ the platforms' checks

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(seen)
            if self.fail_with:
                return self.fail_with.pop(0), {}
        if seen.platform == "dingtalk":
            return 200, self._dingtalk(seen)
        if seen.platform == "feishu":
            return 200, self._feishu(seen)
        return 200, self._wecom(seen)

    def _error(self, seen: Seen, text: str) -> str:
        return f"{text} (request {seen.path}?{'&'.join(f'{k}={v}' for k, v in seen.query.items())})" \
            if self.echo else text

    def _dingtalk(self, seen: Seen) -> dict[str, Any]:  # noqa: PLR0911 (one return per refusal)
        robot = self.robots.get(("dingtalk", seen.query.get("access_token", "")))
        if robot is None:
            return {"errcode": 300001, "errmsg": self._error(seen, "token is not exist")}
        if robot.secret is not None:
            ts, sign = seen.query.get("timestamp", ""), seen.query.get("sign", "")
            if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > HOUR_S * 1000:
                return {"errcode": 310000, "errmsg": "sign not match: timestamp is missing or more than "
                                                     "an hour from the server's time"}
            digest = hmac.new(robot.secret.encode(), f"{ts}\n{robot.secret}".encode(), hashlib.sha256)
            if not hmac.compare_digest(sign, base64.b64encode(digest.digest()).decode()):
                return {"errcode": 310000, "errmsg": self._error(seen, "sign not match")}
        if len(seen.body) > MAX_BODY:
            return {"errcode": 460101, "errmsg": f"message too long, exceed {MAX_BODY} bytes"}
        msg = _json(seen.body)
        if not isinstance(msg, dict):
            return {"errcode": 40035, "errmsg": "缺少参数 json"}
        kind = msg.get("msgtype")
        if kind == "text" and _text(msg.get("text"), "content"):
            return {"errcode": 0, "errmsg": "ok"}
        if kind == "markdown" and _text(msg.get("markdown"), "title") and _text(msg.get("markdown"), "text"):
            return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 40035, "errmsg": f"缺少参数 {kind}"}

    def _feishu(self, seen: Seen) -> dict[str, Any]:  # noqa: PLR0911
        token = seen.path.rsplit("/", 1)[-1]
        robot = self.robots.get(("feishu", token))
        if robot is None:
            return {"code": 19001, "msg": self._error(seen, "param invalid: incoming webhook access token "
                                                            "invalid"), "data": {}}
        bad = {"code": 9499, "msg": "Bad Request", "data": {}}
        if len(seen.body) > MAX_BODY:
            return bad
        msg = _json(seen.body)
        if not isinstance(msg, dict):
            return bad
        if robot.secret is not None:
            ts, sign = msg.get("timestamp"), msg.get("sign")
            key = f"{ts}\n{robot.secret}".encode()
            expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
            if (not isinstance(ts, str) or not ts.isdigit() or abs(time.time() - int(ts)) > HOUR_S
                    or not isinstance(sign, str) or not hmac.compare_digest(sign, expected)):
                why = "sign match fail or timestamp is not within one hour from current time"
                return {"code": 19021, "msg": self._error(seen, why), "data": {}}
        content = msg.get("content")
        kind = msg.get("msg_type")
        if not ((kind == "text" and _text(content, "text")) or (kind == "post" and _post(content))):
            return bad
        if robot.legacy:
            return {"Extra": None, "StatusCode": 0, "StatusMessage": "success"}
        return {"code": 0, "msg": "success", "data": {}, "Extra": None, "StatusCode": 0,
                "StatusMessage": "success"}

    def _wecom(self, seen: Seen) -> dict[str, Any]:
        if ("wecom", seen.query.get("key", "")) not in self.robots:
            return {"errcode": 93000, "errmsg": self._error(seen, "invalid webhook url, hint: [0000]")}
        msg = _json(seen.body)
        if not isinstance(msg, dict):
            return {"errcode": 40033, "errmsg": "invalid charset or json"}
        kind = msg.get("msgtype")
        if kind not in WECOM_LIMITS:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        content = (msg.get(kind) or {}).get("content")
        if not isinstance(content, str) or not content:
            return {"errcode": 40008, "errmsg": f"missing {kind}.content"}
        if len(content.encode("utf-8")) > WECOM_LIMITS[kind]:
            return {"errcode": 40058, "errmsg": f"{kind}.content exceed max length {WECOM_LIMITS[kind]}"}
        return {"errcode": 0, "errmsg": "ok"}


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))  # strict: a body that is not UTF-8 is refused
    except (UnicodeDecodeError, ValueError):
        return None


def _text(obj: Any, key: str) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get(key), str) and bool(obj[key])


def _post(content: Any) -> bool:
    post = content.get("post") if isinstance(content, dict) else None
    if not isinstance(post, dict) or not post:
        return False
    for body in post.values():
        rows = body.get("content") if isinstance(body, dict) else None
        if not isinstance(body.get("title"), str) or not isinstance(rows, list) or not rows:
            return False
        for row in rows:
            for el in row if isinstance(row, list) else [None]:
                if not isinstance(el, dict) or el.get("tag") not in ("text", "a"):
                    return False
                if not isinstance(el.get("text"), str) or (el["tag"] == "a" and not el.get("href")):
                    return False
    return True


@contextlib.contextmanager
def chat_platforms() -> Iterator[Platforms]:
    """The server on 127.0.0.1 (a free port); yields its :class:`Platforms` (add robots to it)."""
    platforms = Platforms()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if parts.path == "/robot/send":
                platform = "dingtalk"
            elif parts.path.startswith("/open-apis/bot/v2/hook/"):
                platform = "feishu"
            elif parts.path == "/cgi-bin/webhook/send":
                platform = "wecom"
            else:
                self.send_error(404)
                return
            query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            seen = Seen(platform, parts.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
            status, doc = platforms.answer(seen)
            seen.status, seen.answer = status, doc
            out = json.dumps(doc, ensure_ascii=False).encode("utf-8") if status == 200 else b"busy"
            self.send_response(status)
            kind = "application/json; charset=utf-8" if status == 200 else "text/plain"
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    platforms.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield platforms
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
