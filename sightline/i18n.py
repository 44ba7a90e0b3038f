"""The one i18n layer: every UI string goes through ``t(key, lang)``.

English and Simplified Chinese (zh-CN). Event type names come from
``sightline.core.event_types`` (each type carries both names)."""

from __future__ import annotations

LANGS = ("en", "zh-CN")

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"en": "Sightline", "zh-CN": "Sightline 视频智能平台"},
    "cameras": {"en": "Cameras", "zh-CN": "摄像机"},
    "events": {"en": "Latest events", "zh-CN": "最新事件"},
    "camera.state.online": {"en": "online", "zh-CN": "在线"},
    "camera.state.offline": {"en": "offline", "zh-CN": "离线"},
    "camera.state.connecting": {"en": "connecting", "zh-CN": "连接中"},
    "camera.state.degraded": {"en": "degraded", "zh-CN": "降级"},
    "camera.state.ended": {"en": "ended", "zh-CN": "已结束"},
    "camera.fps": {"en": "fps", "zh-CN": "帧率"},
    "camera.last_frame": {"en": "last frame", "zh-CN": "最新帧"},
    "camera.error": {"en": "error", "zh-CN": "错误"},
    "event.time": {"en": "Time", "zh-CN": "时间"},
    "event.type": {"en": "Type", "zh-CN": "类型"},
    "event.camera": {"en": "Camera", "zh-CN": "摄像机"},
    "event.where": {"en": "Zone / line", "zh-CN": "区域 / 线"},
    "event.object": {"en": "Object", "zh-CN": "目标"},
    "event.snapshot": {"en": "Snapshot", "zh-CN": "抓拍"},
    "events.none": {
        "en": "No events yet: they appear here as the cameras see them.",
        "zh-CN": "暂无事件：摄像机检测到后会显示在这里。",
    },
    "direction.in": {"en": "in", "zh-CN": "进"},
    "direction.out": {"en": "out", "zh-CN": "出"},
    "direction.enter": {"en": "enter", "zh-CN": "进入"},
    "direction.leave": {"en": "leave", "zh-CN": "离开"},
    "lang.switch": {"en": "中文", "zh-CN": "English"},
    "footer.api": {"en": "JSON API", "zh-CN": "JSON 接口"},
}


def negotiate(query_lang: str | None, accept_language: str | None) -> str:
    """Pick the UI language: ?lang= first, then the browser's Accept-Language."""
    if query_lang in LANGS:
        return query_lang
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def t(key: str, lang: str) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key  # a missing key shows itself instead of crashing the page
    return entry.get(lang) or entry["en"]
