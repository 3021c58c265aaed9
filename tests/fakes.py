"""Fake arXiv and OpenAI-compatible servers on 127.0.0.1, spoken to over real HTTP.

The real `arxiv` and `openai` clients talk to these; nothing is patched. Each fake
records what it was asked (`history`) and can be scripted to misbehave (`script`:
one behaviour per request, in order): an HTTP status, ``"close"`` (drop the
connection), ``("slow", seconds)``, ``("trickle", seconds)`` (the headers, then one
byte of the reply every ``seconds``), ``("trickle-headers", seconds)`` (the status
line and headers too, a byte every ``seconds``), ``"huge"`` (the reply padded with whitespace
past `huge_bytes`, its end marked only by closing the connection); for arXiv
``(status, {header: value})`` (e.g. a 429 with a `Retry-After`) and ``"empty"`` (a
feed of no entries, as arXiv sometimes sends for IDs it has), ``("feed", text)``; for the model
``"broken-json"``, ``"refusal"``, ``"missing-field"``, ``"truncated"``, and replies of
a shape the API does not have: ``"content-number"``, ``"no-message"``,
``"choices-not-a-list"``, ``"deep-json"``, ``"usage-text"``; for arXiv, feeds no
arXiv sends: ``"billion-laughs"``, ``"external-entity"``, ``"cut"`` (ends half-way).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import escape

Behaviour = Any
HOLD_LIMIT = 3.0
"""Seconds a held reply waits at most (`gather`, `hold`): a test whose condition never comes fails, not
hangs. Under the sites' `timeout` (5 s), so the client is still waiting when the reply comes."""


class _Server:
    """A threaded HTTP server on an ephemeral loopback port, with a request script."""

    def __init__(self) -> None:
        self.history: list[dict[str, Any]] = []
        self.script: list[Behaviour] = []
        self.latency = 0.0
        self.huge_bytes = 2**20
        """How far ``"huge"`` pads a reply: set it past the client's cap."""
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.gather = 0
        """Hold every reply until this many requests have been in flight at once (at most
        `HOLD_LIMIT` s): a test of concurrency that does not depend on how fast the machine is."""
        self.hold: threading.Event | None = None
        """Hold every reply until this is set (at most `HOLD_LIMIT` s)."""
        self._gathered = threading.Condition(self.lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go separately: no 40 ms delayed-ACK wait

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                fake._serve(self, fake.read_body(self.headers.get("content-type", ""), self.rfile.read(length)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket.listen(64)  # a round of 8+ model requests connects at once (the default is 5)
        self.server.daemon_threads = True
        # A short poll: `shutdown()` waits for one, and every test closes two servers.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _serve(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        with self.lock:
            index = len(self.history)
            self.history.append(
                {
                    "path": handler.path,
                    "body": body,
                    "headers": {k.lower(): v for k, v in handler.headers.items()},
                    "at": time.monotonic(),
                }
            )
            behaviour = self.script.pop(0) if self.script else None
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._gathered.notify_all()
            self._gathered.wait_for(lambda: self.max_in_flight >= self.gather, timeout=HOLD_LIMIT)
        try:
            if self.hold is not None:
                self.hold.wait(timeout=HOLD_LIMIT)
            if self.latency:
                time.sleep(self.latency)
            if isinstance(behaviour, tuple) and behaviour[0] == "slow":
                time.sleep(behaviour[1])
                behaviour = None
            if behaviour == "close":
                handler.close_connection = True
                handler.connection.close()
                return
            status, content_type, payload = self.respond(handler.path, body, behaviour)
        finally:
            with self.lock:
                self.in_flight -= 1
        data = payload.encode()
        self.history[index]["replied_at"] = time.monotonic()
        if isinstance(behaviour, tuple) and behaviour[0] in ("trickle", "trickle-headers"):
            self._trickle(handler, status, content_type, data, behaviour[1], headers=behaviour[0] == "trickle-headers")
            return
        if behaviour in ("huge", "cut"):
            self._close_delimited(handler, status, content_type, data, behaviour)
            return
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(data)))
        handler.send_header("retry-after-ms", "10")
        for name, value in self.reply_headers(behaviour):
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def read_body(self, content_type: str, raw: bytes) -> Any:
        """A POST's body as the fake reads it: JSON."""
        return json.loads(raw or b"null")

    def respond(self, path: str, body: Any, behaviour: Behaviour) -> tuple[int, str, str]:
        raise NotImplementedError

    def reply_headers(self, behaviour: Behaviour) -> list[tuple[str, str]]:
        """Headers of a scripted reply beyond the usual ones."""
        return []

    @staticmethod
    def _trickle(
        handler: BaseHTTPRequestHandler,
        status: int,
        content_type: str,
        data: bytes,
        every: float,
        *,
        headers: bool = False,
    ) -> None:
        """The body a byte at a time, until it is sent or the client hangs up.

        With ``headers``, the status line and headers come a byte at a time too.
        """
        handler.close_connection = True
        head = (
            f"HTTP/1.1 {status} {handler.responses.get(status, ('',))[0]}\r\n"
            f"content-type: {content_type}\r\ncontent-length: {len(data)}\r\n\r\n"
        ).encode("latin-1")
        reply, start = head + data, 0 if headers else len(head)
        try:
            handler.wfile.write(reply[:start])
            handler.wfile.flush()
            for index in range(start, len(reply)):
                time.sleep(every)
                handler.wfile.write(reply[index : index + 1])
                handler.wfile.flush()
        except OSError:
            pass  # the client gave up, as it should

    def _close_delimited(
        self, handler: BaseHTTPRequestHandler, status: int, content_type: str, data: bytes, behaviour: str
    ) -> None:
        """A body with no length, ended by closing: ``"huge"`` pads it, ``"cut"`` stops half-way."""
        handler.close_connection = True
        try:
            handler.send_response(status)
            handler.send_header("content-type", content_type)
            handler.send_header("connection", "close")
            handler.end_headers()
            if behaviour == "cut":
                handler.wfile.write(data[: len(data) // 2])
                return
            handler.wfile.write(data)
            padding = b" " * 2**20
            for _ in range(self.huge_bytes // len(padding) + 1):
                handler.wfile.write(padding)
        except OSError:
            pass  # the client stopped reading, as it should


@dataclass
class FakePaper:
    id: str
    title: str
    abstract: str
    version: int = 1
    authors: list[str] = field(default_factory=lambda: ["Ada Lovelace", "Alan Turing"])
    published: str = "2024-03-25T17:59:01Z"
    categories: list[str] = field(default_factory=lambda: ["cs.CL"])
    updated: str = ""
    """When the last version was submitted (`lastUpdatedDate`); "" for `published`."""


_ARXIV_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")


class FakeArxiv(_Server):
    """The arXiv export API: Atom feeds in the real format, with the real quirks.

    Results come in reverse request order (arXiv orders by relevance, not `id_list`),
    unknown IDs are silently absent, and one malformed ID fails the request with 400.
    """

    def __init__(self) -> None:
        super().__init__()
        self.papers: dict[str, list[FakePaper]] = {}

    def add(self, paper_id: str, title: str, abstract: str = "An abstract.", **kwargs: Any) -> FakePaper:
        paper = FakePaper(paper_id, title, abstract, **kwargs)
        versions = self.papers.setdefault(paper_id, [])
        versions.append(paper)
        versions.sort(key=lambda p: p.version)
        return paper

    @property
    def queries(self) -> list[list[str]]:
        """The `id_list` of every request, in order."""
        return [parse_qs(urlparse(r["path"]).query).get("id_list", [""])[0].split(",") for r in self.history]

    @property
    def searches(self) -> list[dict[str, str]]:
        """The `search_query`, `sortBy`, `sortOrder`, `start` and `max_results` of every search request, in order."""
        asked = [{k: v[0] for k, v in parse_qs(urlparse(r["path"]).query).items()} for r in self.history]
        return [query for query in asked if query.get("search_query")]

    def _search(self, query: dict[str, list[str]]) -> tuple[int, str, str]:
        """arXiv's `search_query`: fields, AND/OR/ANDNOT, parentheses, sortBy/sortOrder, start/max_results.

        A query that does not parse is a 400 with an error feed, as arXiv answers one.
        """
        text = query["search_query"][0]
        try:
            matches = _parse_search(text)
        except ValueError as error:
            entry = (
                "<entry><id>https://arxiv.org/api/errors#malformed_query</id>"
                "<title>Error</title><updated>2026-04-12T22:59:06Z</updated>"
                f"<summary>{escape(str(error))}</summary>"
                "<author><name>arXiv api core</name></author></entry>"
            )
            return 400, "application/atom+xml", _feed([entry], 1)
        papers = [versions[-1] for versions in self.papers.values() if versions and matches(versions[-1])]
        sort_by = query.get("sortBy", ["relevance"])[0]
        field_of = {
            "submittedDate": lambda p: p.published,
            "lastUpdatedDate": lambda p: p.updated or p.published,
        }.get(sort_by, lambda p: p.id)
        papers.sort(key=field_of, reverse=query.get("sortOrder", ["descending"])[0] == "descending")
        start, count = int(query.get("start", ["0"])[0]), int(query.get("max_results", ["10"])[0])
        shown = papers[start : start + count]
        return 200, "application/atom+xml", _feed([_entry(p) for p in shown], len(papers), start)

    def respond(self, path: str, body: Any, behaviour: Behaviour) -> tuple[int, str, str]:
        if isinstance(behaviour, int):
            return behaviour, "text/plain", "unavailable"
        if isinstance(behaviour, tuple) and isinstance(behaviour[0], int):  # (status, headers)
            return behaviour[0], "text/plain", "Rate exceeded."
        if behaviour == "empty":  # arXiv's silent empty reply to valid IDs (2026)
            return 200, "application/atom+xml", _feed([], 0)
        if isinstance(behaviour, tuple) and behaviour[0] == "feed":  # a feed written by the test
            return 200, "application/atom+xml", behaviour[1]
        if behaviour in HOSTILE_FEEDS:
            return 200, "application/atom+xml", HOSTILE_FEEDS[behaviour]
        query = parse_qs(urlparse(path).query)
        if query.get("search_query", [""])[0]:
            return self._search(query)
        ids = [i for i in query.get("id_list", [""])[0].split(",") if i]
        bad = [i for i in ids if not _ARXIV_ID.match(i)]
        if bad:
            entry = (
                f"<entry><id>https://arxiv.org/api/errors#incorrect_id_format_for_{escape(bad[0])}</id>"
                f"<title>Error</title><updated>2026-04-12T22:59:06Z</updated>"
                f"<summary>incorrect id format for {escape(bad[0])}</summary>"
                f"<author><name>arXiv api core</name></author></entry>"
            )
            return 400, "application/atom+xml", _feed([entry], 1)
        found = [paper for paper in map(self._lookup, reversed(ids)) if paper is not None]
        found = found[: int(query.get("max_results", ["10"])[0])]
        return 200, "application/atom+xml", _feed([_entry(p) for p in found], len(found))

    def reply_headers(self, behaviour: Behaviour) -> list[tuple[str, str]]:
        if isinstance(behaviour, tuple) and isinstance(behaviour[0], int):
            return list(behaviour[1].items())
        return []

    def _lookup(self, requested: str) -> FakePaper | None:
        match = re.match(r"^(.*?)(?:v(\d+))?$", requested)
        assert match
        base, version = match.group(1), match.group(2)
        versions = self.papers.get(base, [])
        if version is None:
            return versions[-1] if versions else None
        return next((p for p in versions if p.version == int(version)), None)


_SEARCH_TOKEN = re.compile(
    r'\s*(?:(?P<paren>[()])|(?P<op>ANDNOT|AND|OR)(?=[\s(])|(?P<field>[a-zA-Z]+):(?P<value>"[^"]*"|\[[^\]]*\]|[^\s()"]+)'
    r'|(?P<word>[^\s()":]+))'
)
_SEARCH_FIELDS = {"ti", "abs", "au", "cat", "all", "submittedDate", "lastUpdatedDate", "id", "co", "jr", "rn"}


def _parse_search(text: str) -> Callable[[FakePaper], bool]:
    """A predicate for arXiv's query syntax, simply: a field's words must all appear; ValueError if malformed."""
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(text.rstrip()):
        match = _SEARCH_TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise ValueError(f"malformed query: cannot parse {text[at:].strip()[:30]!r}")
        at = match.end()
        if match["paren"]:
            tokens.append(("paren", match["paren"]))
        elif match["op"]:
            tokens.append(("op", match["op"]))
        elif match["field"]:
            if match["field"] not in _SEARCH_FIELDS:
                raise ValueError(f"malformed query: unknown field {match['field']!r}")
            tokens.append(("term", f"{match['field']}:{match['value']}"))
        else:
            tokens.append(("term", f"all:{match['word']}"))
    position = 0

    def expression() -> Callable[[FakePaper], bool]:
        nonlocal position
        left = term()
        while position < len(tokens) and tokens[position][0] == "op":
            op = tokens[position][1]
            position += 1
            right, before = term(), left
            left = {
                "AND": lambda p, a=before, b=right: a(p) and b(p),
                "OR": lambda p, a=before, b=right: a(p) or b(p),
                "ANDNOT": lambda p, a=before, b=right: a(p) and not b(p),
            }[op]
        return left

    def term() -> Callable[[FakePaper], bool]:
        nonlocal position
        if position >= len(tokens):
            raise ValueError("malformed query: it ends where a term was expected")
        kind, value = tokens[position]
        position += 1
        if kind == "paren" and value == "(":
            inner = expression()
            if position >= len(tokens) or tokens[position] != ("paren", ")"):
                raise ValueError("malformed query: unbalanced parentheses")
            position += 1
            return inner
        if kind != "term":
            raise ValueError(f"malformed query: unexpected {value!r}")
        return _field_matcher(*value.split(":", 1))

    matcher = expression()
    if position != len(tokens):
        raise ValueError(f"malformed query: unexpected {tokens[position][1]!r}")
    return matcher


def _field_matcher(name: str, value: str) -> Callable[[FakePaper], bool]:
    if value.startswith("["):  # submittedDate:[202401010000 TO 202412312359]
        low, _, high = value.strip("[]").partition(" TO ")
        return lambda p: low.strip() <= re.sub(r"\D", "", p.published)[:12] <= high.strip()
    words = value.strip('"').lower().split()

    def texts(paper: FakePaper) -> list[str]:
        return {
            "ti": [paper.title],
            "abs": [paper.abstract],
            "au": paper.authors,
            "cat": paper.categories,
            "id": [paper.id],
        }.get(name, [paper.title, paper.abstract, *paper.authors, *paper.categories])

    if name == "cat":
        return lambda p: any(
            value.lower() == c.lower() or (value.endswith("*") and c.startswith(value[:-1])) for c in p.categories
        )
    return lambda p: all(any(word in text.lower() for text in texts(p)) for word in words)


def _feed(entries: list[str], total: int, start: int = 0) -> str:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">'
        "<id>https://arxiv.org/api/fake</id><title>arXiv Query</title><updated>2026-04-12T22:09:36Z</updated>"
        f"<opensearch:itemsPerPage>100</opensearch:itemsPerPage><opensearch:totalResults>{total}</opensearch:totalResults>"
        f"<opensearch:startIndex>{start}</opensearch:startIndex>" + "".join(entries) + "</feed>"
    )


def _entry(paper: FakePaper) -> str:
    vid = f"{paper.id}v{paper.version}"
    authors = "".join(f"<author><name>{escape(name)}</name></author>" for name in paper.authors)
    # arXiv hard-wraps titles and abstracts; the client must collapse the whitespace.
    title = escape(paper.title).replace(" ", "\n  ", 1)
    return (
        f"<entry><id>http://arxiv.org/abs/{vid}</id><title>{title}</title>"
        f"<updated>{paper.updated or paper.published}</updated>"
        f'<link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>'
        f'<link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>'
        f"<summary>{escape(paper.abstract)}</summary>"
        + "".join(f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in paper.categories)
        + f"<published>{paper.published}</published>"
        f'<arxiv:primary_category term="{escape(paper.categories[0])}"/>'
        f"{authors}</entry>"
    )


def _hostile_feed(dtd: str, title: str) -> str:
    """A one-entry feed for 2403.16584 with a DTD, ``title`` referring to its entities."""
    entry = _entry(FakePaper("2403.16584", "TITLE", "An abstract.")).replace("TITLE", title)
    return _feed([entry], 1).replace("\n", f"\n<!DOCTYPE feed [{dtd}]>\n", 1)


_LAUGHS = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
)
HOSTILE_FEEDS = {
    # Ten to the ninth "lol"s if expanded: 3 GB from a 1 KB reply.
    "billion-laughs": _hostile_feed(_LAUGHS, "Laughing &lol9; out loud"),
    "external-entity": _hostile_feed(
        '<!ENTITY passwd SYSTEM "file:///etc/passwd"><!ENTITY remote SYSTEM "http://127.0.0.1:9/x">',
        "Reading &passwd; and &remote;",
    ),
}


# What the fake model writes, per language (by the name the prompt uses): text that
# passes the reply checks (right script, plausible length, a summary that is not the
# title), derived from the paper so that every paper's text differs.
ANSWERS = {
    "Chinese (Simplified)": (
        "《{title}》的中文标题",
        "本文研究了《{title}》中的问题，并提出了一种新的方法。",
        "这是摘要的中文译文。",
    ),
    "Japanese": (
        "「{title}」の日本語タイトル",
        "この論文は「{title}」の問題を研究し、新しい方法を提案する。",
        "これは要旨の日本語訳です。",
    ),
    "German": (
        "Deutscher Titel: {title}",
        "Diese Arbeit über {title} stellt eine neue Methode vor und zeigt, dass sie funktioniert.",
        "Dies ist die deutsche Übersetzung der Zusammenfassung. ",
    ),
}
ENGLISH_SUMMARY = "This work on {title} contributes a new method and shows that it works."
_MATH = re.compile(r"(?<!\\)\$(?!\s)((?:\\.|[^\\$])+?)(?<!\s)\$")


def default_answer(paper: dict[str, str], language: str) -> dict[str, str]:
    """What the fake model writes: derived from the input, so every paper's text differs."""
    title, abstract = paper["title"], paper["abstract"]
    if language == "English":
        return {"summary": ENGLISH_SUMMARY.format(title=title)}
    title_form, summary_form, sentence = ANSWERS[language]
    # As long as a translation would be, keeping the abstract's math. Where the sentence
    # would be said three times or more (a loop, which the checks refuse), the rest is a
    # word-for-word stand-in translation that keeps figures and names, as a model does.
    copies = max(1, len(abstract) // len(sentence) // 2)
    translation = sentence * copies if copies < 3 else sentence + _word_for_word(abstract, language)
    math = " ".join(match.group() for match in _MATH.finditer(abstract))
    answer = {"title": title_form.format(title=title), "summary": summary_form.format(title=title)}
    if len(re.findall(r"[A-Za-z]", title)) > 30 and language in _STAND_IN:
        # A long title: what the form adds is too short to be its translation.
        answer["title"] += _word_for_word(_MATH.sub(" ", title), language)
    return answer | ({"abstract": (translation + " " + math).strip()} if abstract else {})


# Characters a stand-in translation is written with (Japanese: kana and kanji).
_STAND_IN = {
    "Chinese (Simplified)": "模型数据方法训练语言学习任务结果实验文本分析系统网络生成评估性能提出研究问题",
    "Japanese": "モデルデータ手法学習言語タスク結果実験テキスト解析システムの生成評価性能提案研究問題を",
}


def _word_for_word(text: str, language: str) -> str:
    """``text`` with each English word written as two characters of ``language``, names and figures kept."""
    characters = _STAND_IN.get(language)
    if characters is None:
        return ""
    out = []
    for word in re.findall(r"[A-Za-z]+[A-Za-z0-9]*|\d+(?:[.,]\d+)*%?", text):
        if word[0].isdigit() or sum(char.isupper() for char in word) >= 2 or any(char.isdigit() for char in word):
            out.append(word)  # figures and names stay as written
        else:
            code = sum(map(ord, word.casefold())) * 31 + len(word)
            out.append(characters[code % len(characters)] + characters[(code // 7) % len(characters)])
    return "".join(out) + "。"


def request_format(body: dict[str, Any]) -> str:
    response_format = body.get("response_format")
    if response_format is None:
        return "prompt"
    return str(response_format["type"]) + ("+schema" if "schema" in response_format else "")


# What real servers answer a request they cannot take (status, error object), recorded
# from them (llama-cpp-python 0.3, DeepSeek's and OpenAI's documented errors): the
# plugin must recognise each by what it says, whatever the status.
_LLAMA_CPP_PYTHON = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}"
)
REFUSALS: dict[str, Callable[[dict[str, Any]], tuple[int, dict[str, Any]] | None]] = {
    "openai": lambda body: None,
    "llama-cpp-python": lambda body: (
        (500, {"message": _LLAMA_CPP_PYTHON, "type": "internal_server_error"})
        if request_format(body) == "json_schema" else None
    ),
    "deepseek": lambda body: (
        (400, {"message": "This response_format type is unavailable now", "type": "invalid_request_error"})
        if request_format(body) == "json_schema" else None
    ),
    "no-response-format": lambda body: (
        (422, {"message": f"unsupported field: response_format ({request_format(body)})", "type": "invalid_request_error"})
        if request_format(body) != "prompt" else None
    ),
    "reasoning": lambda body: (
        (400, {"message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
               "Use 'max_completion_tokens' instead.", "type": "invalid_request_error", "param": "max_tokens"})
        if "max_tokens" in body else None
    ),
}  # fmt: skip


class FakeLLM(_Server):
    """An OpenAI-compatible Chat Completions endpoint (``/v1/chat/completions``), with the Batch API.

    ``/v1/files`` takes uploads (multipart, as the SDK sends them) and serves their content;
    ``/v1/batches`` makes, retrieves and lists batches. A batch completes after
    `batch_polls` retrieves, each of its lines answered as a chat completion is
    (`batch_results`), a behaviour from `batch_script` per line; with `batch_expire_after`
    it expires after answering that many lines (the rest in its error file as
    ``batch_expired``), and `batch_fail` makes it fail validation, returning nothing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.kind = "openai"
        """Which real server's refusals to imitate (`REFUSALS`): what it says to a request it cannot take."""
        self.answer: Callable[[dict[str, str], str], dict[str, Any]] = default_answer
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls = 0
        """Retrieves a batch answers `in_progress` before it completes."""
        self.batch_script: list[Behaviour] = []
        """One behaviour per batch line answered, in order (as `script` is per request)."""
        self.batch_expire_after: int | None = None
        self.batch_fail = False

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The Chat Completions requests' bodies (not the Batch API's)."""
        return [r["body"] for r in self.history if r["path"].endswith("/chat/completions")]

    @property
    def batch_creates(self) -> list[dict[str, Any]]:
        """The bodies of every `batches.create`."""
        return [r["body"] for r in self.history if r["path"] == "/v1/batches" and r["body"] is not None]

    def batch_input(self, batch_id: str) -> list[dict[str, Any]]:
        """The request lines of a batch's input file."""
        data = self.files[self.batches[batch_id]["input_file_id"]].decode()
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def read_body(self, content_type: str, raw: bytes) -> Any:
        if not content_type.startswith("multipart/form-data"):
            return super().read_body(content_type, raw)
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(f"content-type: {content_type}\r\n\r\n".encode() + raw)
        form: dict[str, Any] = {}
        for part in message.iter_parts():  # type: ignore[attr-defined]
            form[part.get_param("name", header="content-disposition")] = part.get_payload(decode=True)
        return form

    def batch_results(self, requests: str, *, expire_after: int | None = None) -> tuple[str, str]:
        """Output and error files (Batch API format) for a requests file: each line answered as a chat completion."""
        output, errors = [], []
        for number, line in enumerate(line for line in requests.splitlines() if line.strip()):
            request = json.loads(line)
            custom_id = request["custom_id"]
            if expire_after is not None and number >= expire_after:
                error = {"code": "batch_expired", "message": "This request could not be executed before the window."}
                errors.append({"id": f"batch_req_{number}", "custom_id": custom_id, "response": None, "error": error})
                continue
            behaviour = self.batch_script.pop(0) if self.batch_script else None
            status, _type, payload = self._chat(request["body"], behaviour)
            response = {"status_code": status, "request_id": f"req_{number}", "body": json.loads(payload)}
            result = {"id": f"batch_req_{number}", "custom_id": custom_id, "response": response, "error": None}
            (output if status == 200 else errors).append(result)
        return "".join(json.dumps(r) + "\n" for r in output), "".join(json.dumps(r) + "\n" for r in errors)

    def _file(self, data: bytes, purpose: str, filename: str = "file.jsonl") -> dict[str, Any]:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = data
        return {
            "id": file_id, "object": "file", "bytes": len(data), "created_at": 0,
            "filename": filename, "purpose": purpose, "status": "processed",
        }  # fmt: skip

    def _batch_api(self, path: str, body: Any) -> tuple[int, str, str] | None:
        """The Files and Batch endpoints; None for any other path."""
        url = urlparse(path)
        if url.path == "/v1/files" and isinstance(body, dict):
            return 200, "application/json", json.dumps(self._file(body["file"], body["purpose"].decode()))
        if (match := re.fullmatch(r"/v1/files/([^/]+)/content", url.path)) is not None:
            return 200, "application/octet-stream", self.files[match.group(1)].decode()
        if url.path == "/v1/batches" and body is not None:
            batch_id = f"batch_{len(self.batches) + 1}"
            lines = len([line for line in self.files[body["input_file_id"]].splitlines() if line.strip()])
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body["endpoint"], "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body["completion_window"],
                "status": "validating", "created_at": len(self.batches), "metadata": body.get("metadata"),
                "output_file_id": None, "error_file_id": None,
                "request_counts": {"total": lines, "completed": 0, "failed": 0}, "polls": 0,
            }  # fmt: skip
            return 200, "application/json", json.dumps(self.batches[batch_id])
        if url.path == "/v1/batches":  # the newest first, as the API lists them
            data = sorted(self.batches.values(), key=lambda batch: -batch["created_at"])
            return 200, "application/json", json.dumps({"object": "list", "data": data, "has_more": False})
        if (match := re.fullmatch(r"/v1/batches/([^/]+)", url.path)) is not None:
            batch = self.batches[match.group(1)]
            batch["polls"] += 1
            if batch["status"] in ("validating", "in_progress"):
                batch["status"] = "in_progress"
                if batch["polls"] > self.batch_polls:
                    self._finish(batch)
            return 200, "application/json", json.dumps(batch)
        return None

    def _finish(self, batch: dict[str, Any]) -> None:
        if self.batch_fail:
            batch["status"] = "failed"
            batch["errors"] = {"object": "list", "data": [{"code": "invalid_request", "message": "scripted failure"}]}
            return
        output, errors = self.batch_results(
            self.files[batch["input_file_id"]].decode(), expire_after=self.batch_expire_after
        )
        batch["status"] = "completed" if self.batch_expire_after is None else "expired"
        self.batch_expire_after = None  # one batch expires: what it did not return is resubmitted
        if output:
            batch["output_file_id"] = self._file(output.encode(), "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._file(errors.encode(), "batch_output")["id"]
        counts = batch["request_counts"]
        counts["completed"], counts["failed"] = len(output.splitlines()), len(errors.splitlines())

    def respond(self, path: str, body: Any, behaviour: Behaviour) -> tuple[int, str, str]:
        if not path.endswith("/chat/completions"):
            answered = self._batch_api(path, body)
            if answered is not None:
                return answered
        return self._chat(body, behaviour)

    def _chat(self, body: Any, behaviour: Behaviour) -> tuple[int, str, str]:
        if isinstance(behaviour, int):
            return (
                behaviour,
                "application/json",
                json.dumps({"error": {"message": "scripted failure", "type": "server_error"}}),
            )
        if behaviour == "echo-key":  # some servers quote the key they were given
            key = self.history[-1]["headers"].get("authorization", "")
            return 401, "application/json", json.dumps({"error": {"message": f"Incorrect API key provided: {key}"}})
        refused = REFUSALS[self.kind](body)
        if refused is not None:
            return refused[0], "application/json", json.dumps({"error": refused[1]})
        system, user = body["messages"][0]["content"], body["messages"][1]["content"]
        language = re.search(r"Write in (.+?)\. ", system).group(1)  # type: ignore[union-attr]
        answer = self.answer(json.loads(user), language)
        content: str | None = json.dumps(answer, ensure_ascii=False)
        refusal, finish = None, "stop"
        if behaviour == "broken-json":
            content = content[: len(content) // 2]  # type: ignore[index]
        elif behaviour == "missing-field":
            content = json.dumps({k: v for k, v in answer.items() if k != "summary"})
        elif behaviour == "truncated":
            content, finish = content[:10], "length"  # type: ignore[index]
        elif behaviour == "runaway":  # a small model repeating itself until the token limit stops it
            content, finish = '{"summary": "' + "and so on " * body.get("max_tokens", 10_000), "length"
        elif behaviour == "refusal":
            content, refusal = None, "I can't help with that."
        elif behaviour == "deep-json":
            content = "[" * 100_000
        message: Any = {"role": "assistant", "content": content, "refusal": refusal}
        if behaviour == "content-number":
            message["content"] = 12345
        elif behaviour == "no-message":
            message = None
        choices: Any = [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}]
        if behaviour == "choices-not-a-list":
            choices = "none today"
        usage: Any = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        if behaviour == "runaway":
            usage = {
                "prompt_tokens": 100,
                "completion_tokens": body["max_tokens"],
                "total_tokens": 100 + body["max_tokens"],
            }
        if behaviour == "usage-text":
            usage = {"prompt_tokens": "many", "completion_tokens": None, "total_tokens": [1]}
        completion = {
            "id": f"chatcmpl-{len(self.history)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": choices,
            "usage": usage,
        }
        return 200, "application/json", json.dumps(completion)
