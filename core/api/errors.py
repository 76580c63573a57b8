"""Every API failure is JSON `{"detail": "..."}` with a status that says whose fault it was.

Services raise `UserError`s carrying their status (400/403/404/409); malformed
requests get 422 with a sentence naming each bad field; anything else is a bug,
answered with a generic 500 that reveals nothing and logged on the server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from core.errors import UserError

log = logging.getLogger(__name__)

_LONGEST_DETAIL = 2000


def error(status: int, detail: str) -> JSONResponse:
    if len(detail) > _LONGEST_DETAIL:  # ids and names are echoed: keep a huge one from bloating the answer
        detail = detail[:_LONGEST_DETAIL] + "..."
    return JSONResponse({"detail": detail}, status_code=status)


def describe_validation(errors: Sequence[dict[str, Any]]) -> str:
    """One readable sentence per problem; the offending input is never echoed back."""
    parts = []
    for item in errors:
        loc = [str(p) for p in item.get("loc", ())]
        where, field = (loc[0], ".".join(loc[1:])) if loc else ("request", "")
        if item.get("type") == "json_invalid":
            reason = (item.get("ctx") or {}).get("error", "")
            parts.append(f"The request body is not valid JSON ({reason})." if reason else
                         "The request body is not valid JSON.")
        elif where == "body" and not field and item.get("type") == "missing":
            parts.append("The request needs a JSON body.")
        else:
            name = f"{field} ({where})" if field else where
            message = str(item.get("msg") or "invalid value").removeprefix("Value error, ")
            parts.append(f"{name}: {message}.")
    return " ".join(parts) or "The request is not valid."


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(UserError)
    async def _user_error(_: Request, exc: UserError) -> JSONResponse:
        return error(exc.status_code, str(exc))

    @api.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error(422, describe_validation(exc.errors()))

    @api.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404 and exc.detail == "Not Found":
            detail = f"There is no API route {request.method} {request.url.path[:200]}."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path[:200]}."
        else:
            detail = str(exc.detail)
        response = error(exc.status_code, detail)
        response.headers.update(exc.headers or {})
        return response

    @api.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API %s %s failed", request.method, request.url.path[:200])
        return error(500, "Internal server error; the details are in the server log.")
