"""UI strings of the "Analyse a file" page (recorded videos and pictures),
English and Simplified Chinese; merged into :mod:`sightline.i18n` like the
strategy center's table, with the same rules."""

from __future__ import annotations


def _m(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-CN": zh}


MESSAGES: dict[str, dict[str, str]] = {
    "nav.files": _m("Analyse a file", "文件分析"),
    "task.state.finished": _m("finished", "已完成"),
    "upload.title": _m("Analyse a file", "文件分析"),
    "upload.video_title": _m("Upload a recorded video", "上传录像"),
    "upload.video_help": _m(
        "The file is checked whole (truncated or broken files are refused), then analysed once "
        "from start to end with the people rules.",
        "文件会被完整检查（截断或损坏的文件会被拒绝），然后按人员规则从头到尾分析一次。",
    ),
    "upload.send_video": _m("Upload", "上传"),
    "upload.choose_file": _m("Choose a file first.", "请先选择文件。"),
    "upload.uploading": _m("Uploading {name}…", "正在上传 {name}…"),
    "upload.checked": _m("{name}: checked, {frames} frames.", "{name}：检查通过，共 {frames} 帧。"),
    "upload.videos": _m("Uploaded videos", "已上传的录像"),
    "upload.none": _m("No video uploaded yet.", "尚未上传录像。"),
    "upload.file": _m("File", "文件"),
    "upload.video": _m("Video", "视频"),
    "upload.frames": _m("frames", "帧"),
    "upload.uploaded": _m("Uploaded", "上传时间"),
    "upload.analysis": _m("Analysis", "分析"),
    "upload.not_analysed": _m("not analysed", "未分析"),
    "upload.analyse": _m("Analyse", "分析"),
    "upload.events": _m("{count} events", "{count} 个事件"),
    "upload.delete_confirm": _m(
        "Delete the video {name} and its analysis tasks? Its events are kept.",
        "删除录像 {name} 及其分析任务？其事件将保留。",
    ),
    "upload.image_title": _m("Detect objects in a picture", "图片目标检测"),
    "upload.image_help": _m(
        "JPEG, PNG, WebP or BMP up to 20 MiB; nothing is stored.",
        "支持 JPEG、PNG、WebP、BMP，最大 20 MiB；不会保存任何内容。",
    ),
    "upload.detect": _m("Detect", "检测"),
    "upload.found": _m("{count} objects found.", "检测到 {count} 个目标。"),
}
