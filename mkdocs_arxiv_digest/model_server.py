"""What one model server accepts, learnt from its refusals, and each request sent accordingly.

OpenAI-compatible servers differ in how a reply can be held to a JSON schema, and say
"unsupported" differently: OpenAI, vLLM, Ollama, LM Studio and llama.cpp's own
`llama-server` take ``json_schema``; llama-cpp-python's server refuses it with **HTTP
500** (a validation error naming ``response_format.type``) but takes ``json_object``
with a ``schema`` field, which it turns into a grammar; DeepSeek refuses it with 400 and
takes ``json_object``. So a refusal is recognised by what it says (it names the
response format), not by its status alone, and the next weaker constraint is tried:

    json_schema  →  json_object + schema  →  json_object  →  the schema in the prompt only

The answer is remembered for the server for the rest of the build. A refusal sent as a
5xx would be retried by the SDK like a server fault; `no_retry_for_refusals`, a hook on
the SDK's HTTP client, marks it as final (`x-should-retry: false`, which the SDK obeys),
so it costs one request. Reasoning models refuse ``max_tokens`` and want
``max_completion_tokens``: learnt the same way.
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any

from mkdocs_arxiv_digest.errors import log

if TYPE_CHECKING:
    import httpx2
    import openai

FORMATS = ("json_schema", "json_object+schema", "json_object", "prompt")
"""How a reply is held to its schema, strongest first."""
TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")
REFUSAL_STATUSES = {400, 404, 415, 422, 500, 501}
"""Statuses servers answer an unsupported request field with (llama-cpp-python: 500)."""
_REFUSAL_WORDS = re.compile(r"response_format|json_schema|json_object|\bschema\b|\bmax_tokens\b", re.IGNORECASE)
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|\bschema\b", re.IGNORECASE)
_TOKEN_LIMIT_WORDS = re.compile(r"\bmax_tokens\b", re.IGNORECASE)


class ModelServer:
    """One server's accepted request shape; safe to share between threads."""

    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client
        self.format = FORMATS[0]
        self.token_limit = TOKEN_LIMITS[0]
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[str, str]:
        """The response format and the token limit's name this server takes, as learnt so far."""
        with self._lock:
            return (self.format, self.token_limit)

    @property
    def name(self) -> str:
        """The server's address for messages (never the key)."""
        return str(self.client.base_url).rstrip("/")

    def complete(self, model: str, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int) -> Any:
        """One Chat Completions request in the strongest shape the server accepts."""
        import openai

        while True:
            shape = self.shape
            request = request_body(model, messages, schema, max_tokens, shape)
            try:
                return self.client.chat.completions.create(**request)
            except openai.APIStatusError as error:
                if not self._learn(error, shape):
                    raise

    def _learn(self, error: openai.APIStatusError, shape: tuple[str, str]) -> bool:
        """Whether ``error`` refuses part of ``shape`` that has a weaker form; if so, use it from now on."""
        if error.status_code not in REFUSAL_STATUSES:
            return False
        said = f"{error.message} {json.dumps(error.body, default=str)}"
        with self._lock:
            if shape != (self.format, self.token_limit):
                return True  # another request learnt already: ask again in the new shape
            weaker = weaker_shape(error.status_code, said, shape)
            if weaker is None:
                return False
            self.format, self.token_limit = weaker
            part = 1 if weaker[1] != shape[1] else 0  # the token limit's name, or the format
            log.info(f"{self.name} refused {shape[part]} ({error.status_code}); using {weaker[part]}")
            return True


def weaker_shape(status: int, said: str, shape: tuple[str, str]) -> tuple[str, str] | None:
    """The shape to ask in when a server answered ``status`` saying ``said`` to a request in ``shape``:
    the token limit's other name, or the next weaker format; None if it refused nothing of ``shape``
    (or nothing weaker is left). Interactive replies (`ModelServer`) and a batch's error lines learn by it."""
    if status not in REFUSAL_STATUSES:
        return None
    if _TOKEN_LIMIT_WORDS.search(said) and shape[1] == TOKEN_LIMITS[0]:
        return (shape[0], TOKEN_LIMITS[1])
    if _FORMAT_WORDS.search(said) and shape[0] != FORMATS[-1]:
        return (FORMATS[FORMATS.index(shape[0]) + 1], shape[1])
    return None


def weakest(*shapes: tuple[str, str]) -> tuple[str, str]:
    """The weakest format and the later token limit's name among ``shapes``: what a server that
    refused any of the others takes (the shapes learnt from several refusals, combined)."""
    return max((shape[0] for shape in shapes), key=FORMATS.index), max(
        (shape[1] for shape in shapes), key=TOKEN_LIMITS.index
    )


def request_body(
    model: str,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    max_tokens: int,
    shape: tuple[str, str] = (FORMATS[0], TOKEN_LIMITS[0]),
) -> dict[str, Any]:
    """A Chat Completions request body in ``shape`` (response format, token limit's name).

    The one place a request is shaped: interactive requests and the lines of a batch
    (`batch`) are the same bodies.
    """
    request: dict[str, Any] = {"model": model, "messages": messages, shape[1]: max_tokens}
    response_format = _response_format(shape[0], schema)
    if response_format is not None:
        request["response_format"] = response_format
    return request


def _response_format(shape: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    if shape == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "paper_digest", "strict": True, "schema": schema}}
    if shape == "json_object+schema":
        return {"type": "json_object", "schema": schema}  # llama-cpp-python: a grammar from the schema
    if shape == "json_object":
        return {"type": "json_object"}
    return None  # the instructions carry the schema


def no_retry_for_refusals(response: httpx2.Response) -> None:
    """An httpx response hook: a 5xx that refuses a request field is final, not a fault to retry."""
    if response.status_code >= 500 and response.status_code in REFUSAL_STATUSES:
        response.read()  # small, and bounded by the client's own size cap
        if _REFUSAL_WORDS.search(response.text):
            response.headers["x-should-retry"] = "false"
