"""Rendering the site's pages, its error pages, and the files it hands out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment

from remiss.db.models import Document
from remiss.storage.documents import document_path, read_verified
from remiss.storage.uploads import content_disposition

NOT_FOUND_TEXT = (
    "Länken fungerar inte. Den kan vara felskriven, gammal eller ha ersatts av en ny. "
    "Kontakta handläggaren som skickade remissen."
)


class Pages:
    """The templates under web/ with the site's globals (the sender's name)."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def page(self, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        # The workspace's pages (staff only) are wider, for their tables, and their footer
        # does not send the reader to a handläggare: they are the handläggare.
        workspace = name.startswith(("admin_", "ws_"))
        html = self.env.get_template(f"web/{name}").render({"arbetsyta": workspace} | context)
        return HTMLResponse(html, status_code=status)

    def error(
        self,
        status: int,
        title: str,
        text: str,
        back: tuple[str, str] | None = None,
        *,
        page_title: str | None = None,
        workspace: bool = False,
    ) -> HTMLResponse:
        """An error page; `back`: (address, link text) of where to go on from it;
        `page_title`: the <title> if not the heading; `workspace`: a staff page (its footer)."""
        context = {
            "rubrik": title,
            "sidtitel": page_title or title,
            "text": text,
            "tillbaka": back,
            "arbetsyta": workspace,
        }
        return self.page("fel.html", context, status)

    def not_found(
        self, back: tuple[str, str] | None = ("/", "Till startsidan"), *, workspace: bool = False
    ) -> HTMLResponse:
        return self.error(404, "Sidan finns inte", NOT_FOUND_TEXT, back, workspace=workspace)

    def unreadable_form(
        self, back: tuple[str, str] | None = None, *, workspace: bool = False
    ) -> HTMLResponse:
        return self.error(
            400,
            "Formuläret kunde inte läsas",
            "Det som skickades var ofullständigt. Gå tillbaka, ladda om sidan och försök igen.",
            back,
            workspace=workspace,
        )


def file_response(doc: Document, store: Path) -> Response:
    """The stored file as a download, refused (OSError) if it no longer matches its checksum."""
    data = read_verified(document_path(store, doc.storage_path), doc.sha256)
    return Response(
        data,
        media_type=doc.content_type,
        headers={"Content-Disposition": content_disposition(doc.filename)},
    )
