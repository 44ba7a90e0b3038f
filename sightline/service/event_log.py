"""Events of the embedded service: appended to ``events.jsonl`` (durable, one
line per event, flushed before the event is shown) with the latest kept in
memory for the API. A restart reloads the tail of the file, so nothing shown
before is lost. (The SQL event store replaces this with the platform issue.)"""

from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from pydantic import ValidationError

from sightline.core.event import Event


class EventLog:
    def __init__(self, path: Path, keep: int = 1000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._recent: deque[Event] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.skipped_lines = 0
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines()[-keep:]:
                try:
                    self._recent.append(Event.model_validate_json(line))
                except ValidationError:
                    self.skipped_lines += 1  # a torn last line after a crash
        self._file = self.path.open("a", encoding="utf-8")

    def append(self, events: list[Event]) -> None:
        with self._lock:
            for e in events:
                self._file.write(e.model_dump_json() + "\n")
            self._file.flush()
            self._recent.extend(events)

    def latest(self, limit: int = 50, type_: str | None = None, camera_id: str | None = None) -> list[Event]:
        with self._lock:
            items = list(self._recent)
        items = [
            e
            for e in reversed(items)
            if (not type_ or e.type == type_) and (not camera_id or e.camera_id == camera_id)
        ]
        return items[:limit]

    def get(self, event_id: str) -> Event | None:
        with self._lock:
            return next((e for e in self._recent if e.id == event_id), None)

    def close(self) -> None:
        with self._lock:
            self._file.close()
