"""issue 24: document paths relative to the documents folder; submission keys

A document row's `storage_path` becomes relative to the documents folder (`ab/abcd…`), so
that the data folder can be moved or restored anywhere. The documents folder is always
`<data_dir>/documents` and files in it are named `<sha[:2]>/<sha>`: a row whose absolute path
ends in `documents/<its sha256's first two>/<its sha256>` lies in it and is rewritten; any
other path is left as it is (and still read as an absolute path).

`inlamningsnyckel` holds the key of each form posted from the answer page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_document = sa.table(
    "document",
    sa.column("id", sa.Integer),
    sa.column("sha256", sa.String),
    sa.column("storage_path", sa.Text),
)


def _relative(path: str, sha256: str) -> str | None:
    parts = path.replace("\\", "/").split("/")
    if len(parts) >= 4 and parts[-3:] == ["documents", sha256[:2], sha256]:
        return f"{sha256[:2]}/{sha256}"
    return None


def upgrade() -> None:
    op.create_table(
        "inlamningsnyckel",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("dispatch_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=20), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["remissvar.id"], name=op.f("fk_inlamningsnyckel_answer_id_remissvar")
        ),
        sa.ForeignKeyConstraint(
            ["dispatch_id"],
            ["utskick.id"],
            name=op.f("fk_inlamningsnyckel_dispatch_id_utskick"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inlamningsnyckel")),
    )
    op.create_index(op.f("ix_inlamningsnyckel_dispatch_id"), "inlamningsnyckel", ["dispatch_id"])
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_document.c.id, _document.c.sha256, _document.c.storage_path)
    ).all()
    for row_id, sha256, path in rows:
        relative = _relative(path, sha256)
        if relative is not None:
            connection.execute(
                _document.update().where(_document.c.id == row_id).values(storage_path=relative)
            )


def downgrade() -> None:
    # Back to absolute paths, in the documents folder of the settings in effect.
    from remiss.core.settings import load_settings

    documents = load_settings().documents_dir
    connection = op.get_bind()
    rows = connection.execute(sa.select(_document.c.id, _document.c.storage_path)).all()
    for row_id, path in rows:
        if not path.startswith("/") and ":" not in path.split("/")[0]:
            connection.execute(
                _document.update()
                .where(_document.c.id == row_id)
                .values(storage_path=str(documents / path))
            )
    op.drop_index(op.f("ix_inlamningsnyckel_dispatch_id"), table_name="inlamningsnyckel")
    op.drop_table("inlamningsnyckel")
