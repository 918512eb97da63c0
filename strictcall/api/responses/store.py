"""Stored responses: an embedded SQLite database (`--store PATH`).

A stored response keeps its body (what GET /v1/responses/{id} returns) and the conversation it
ends (the chat messages, instructions excluded), so `previous_response_id` continues it, across
requests and server restarts. The file is created readable by its owner only: it holds users'
conversations.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    body TEXT NOT NULL,
    conversation TEXT NOT NULL,
    input_items TEXT NOT NULL
)
"""


@dataclass
class StoredResponse:
    body: dict[str, Any]
    conversation: list[dict[str, Any]]
    input_items: list[dict[str, Any]]


class ResponseStore:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
                os.close(fd)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            self._db = db
        return self._db

    def put(
        self,
        body: dict[str, Any],
        conversation: list[dict[str, Any]],
        input_items: list[dict[str, Any]],
    ) -> None:
        row = (
            body["id"],
            time.time(),
            json.dumps(body, ensure_ascii=False),
            json.dumps(conversation, ensure_ascii=False),
            json.dumps(input_items, ensure_ascii=False),
        )
        with self._lock:
            self._conn().execute(
                "INSERT OR REPLACE INTO responses (id, created_at, body, conversation, "
                "input_items) VALUES (?, ?, ?, ?, ?)",
                row,
            )

    def get(self, response_id: str) -> StoredResponse | None:
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT body, conversation, input_items FROM responses WHERE id = ?",
                    (response_id,),
                )
                .fetchone()
            )
        if row is None:
            return None
        return StoredResponse(json.loads(row[0]), json.loads(row[1]), json.loads(row[2]))

    def delete(self, response_id: str) -> bool:
        with self._lock:
            cur = self._conn().execute("DELETE FROM responses WHERE id = ?", (response_id,))
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
