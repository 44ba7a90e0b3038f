"""The one i18n layer: every UI string goes through ``t(key, lang)``.

English and Simplified Chinese (zh-CN). Event type names come from
``sightline.core.event_types`` (each type carries both names).

The web UI (``sightline/web/``) gets this whole table from ``GET /api/i18n``
and looks every string up by key; ``{name}`` placeholders are filled in by the
page. ``tests/e2e/test_ui_static.py`` checks that every key the UI uses is
here, in both languages.
"""

from __future__ import annotations

from sightline.i18n_strategies import MESSAGES as _STRATEGY_MESSAGES
from sightline.i18n_uploads import MESSAGES as _UPLOAD_MESSAGES

LANGS = ("en", "zh-CN")


def _m(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-CN": zh}


MESSAGES: dict[str, dict[str, str]] = {
    # the page shell and the old demo page (sightline/api/page.html)
    "app.title": _m("Sightline", "Sightline 视频智能平台"),
    "cameras": _m("Cameras", "摄像机"),
    "events": _m("Latest events", "最新事件"),
    "camera.state.online": _m("online", "在线"),
    "camera.state.offline": _m("offline", "离线"),
    "camera.state.connecting": _m("connecting", "连接中"),
    "camera.state.degraded": _m("degraded", "降级"),
    "camera.state.ended": _m("ended", "已结束"),
    "camera.state.error": _m("error", "故障"),
    "camera.state.idle": _m("idle", "空闲"),
    "camera.fps": _m("fps", "帧率"),
    "camera.last_frame": _m("last frame", "最新帧"),
    "camera.error": _m("error", "错误"),
    "event.time": _m("Time", "时间"),
    "event.type": _m("Type", "类型"),
    "event.camera": _m("Camera", "摄像机"),
    "event.where": _m("Zone / line", "区域 / 线"),
    "event.object": _m("Object", "目标"),
    "event.snapshot": _m("Snapshot", "抓拍"),
    "events.none": _m(
        "No events yet: they appear here as the cameras see them.", "暂无事件：摄像机检测到后会显示在这里。"
    ),
    "direction.in": _m("in", "进"),
    "direction.out": _m("out", "出"),
    "direction.enter": _m("enter", "进入"),
    "direction.leave": _m("leave", "离开"),
    "lang.switch": _m("中文", "English"),
    "footer.api": _m("JSON API", "JSON 接口"),
    # navigation, sign-in, roles
    "nav.cameras": _m("Cameras", "摄像机"),
    "nav.tasks": _m("Tasks", "分析任务"),
    "nav.live": _m("Live", "实时"),
    "nav.events": _m("Events", "事件"),
    "nav.hazards": _m("Hazards", "隐患"),
    "auth.intro": _m(
        "Sign in to manage cameras, analysis tasks and events.", "登录以管理摄像机、分析任务和事件。"
    ),
    "auth.username": _m("Username", "用户名"),
    "auth.password": _m("Password", "密码"),
    "auth.sign_in": _m("Sign in", "登录"),
    "auth.signing_in": _m("Signing in…", "正在登录…"),
    "auth.failed": _m("Wrong username or password.", "用户名或密码错误。"),
    "auth.throttled": _m(
        "Too many failed sign-ins. Wait a moment and try again.", "登录失败次数过多，请稍后再试。"
    ),
    "auth.logout": _m("Sign out", "退出登录"),
    "role.admin": _m("admin", "管理员"),
    "role.operator": _m("operator", "操作员"),
    "role.reviewer": _m("reviewer", "审核员"),
    "role.viewer": _m("viewer", "访客"),
    # common actions, states, errors
    "action.save": _m("Save", "保存"),
    "action.edit": _m("Edit", "编辑"),
    "action.delete": _m("Delete", "删除"),
    "action.remove": _m("Remove", "移除"),
    "action.close": _m("Close", "关闭"),
    "table.actions": _m("Actions", "操作"),
    "state.loading": _m("Loading…", "加载中…"),
    "error.generic": _m("Something went wrong.", "出错了。"),
    "error.http": _m("The server answered with error {status}.", "服务器返回错误 {status}。"),
    "error.invalid": _m("Some values are not valid.", "部分输入无效。"),
    "error.network": _m(
        "Cannot reach the server. Check the connection and try again.", "无法连接服务器，请检查网络后重试。"
    ),
    "error.not_found_page": _m("There is no such page.", "页面不存在。"),
    "form.fix_fields": _m("Please correct the marked fields.", "请修正标出的字段。"),
    # cameras
    "camera.add": _m("Add camera", "添加摄像机"),
    "camera.edit": _m("Edit camera", "编辑摄像机"),
    "camera.none": _m("No cameras yet. Add one to start.", "还没有摄像机，请先添加。"),
    "camera.name": _m("Name", "名称"),
    "camera.url": _m("Stream URL or file", "视频流地址或文件"),
    "camera.url_help": _m(
        "rtsp://user:password@host:554/path, an http(s) snapshot or MJPEG URL, or an absolute file path. "
        "Credentials are stored and never shown again.",
        "rtsp://用户名:密码@主机:554/路径、http(s) 抓图或 MJPEG 地址，或文件的绝对路径。"
        "账号密码会被保存，但不会再显示。",
    ),
    "camera.department": _m("Department", "部门"),
    "camera.region": _m("Region", "区域"),
    "camera.latitude": _m("Latitude", "纬度"),
    "camera.longitude": _m("Longitude", "经度"),
    "camera.tags": _m("Tags", "标签"),
    "camera.tags_help": _m(
        "Comma-separated; each a path of up to 4 levels, e.g. park/north/gate.",
        "用逗号分隔；每个标签最多 4 级，例如 园区/北区/大门。",
    ),
    "camera.snapshot": _m("Snapshot", "画面"),
    "camera.no_snapshot": _m("no picture yet", "暂无画面"),
    "camera.status": _m("Status", "状态"),
    "camera.area": _m("Region / department", "区域 / 部门"),
    "camera.location": _m("Location", "位置"),
    "camera.shapes": _m("Zones + lines", "区域 + 线"),
    "camera.zones": _m("Zones & lines", "区域与线"),
    "camera.zones_title": _m("Zones and lines: {name}", "区域与线：{name}"),
    "camera.confirm_delete": _m(
        "Delete camera “{name}” and its tasks? Its events are kept.",
        "删除摄像机“{name}”及其任务？其事件会保留。",
    ),
    # zone and line editor
    "editor.intro": _m(
        "Draw on the picture. Coordinates are stored relative to the frame size, so they fit any resolution.",
        "在画面上绘制。坐标按画面比例保存，适用于任何分辨率。",
    ),
    "editor.tool_zone": _m("Draw zone", "画区域"),
    "editor.tool_line": _m("Draw line", "画线"),
    "editor.tool_select": _m("Select / move", "选择 / 移动"),
    "editor.hint_zone": _m(
        "Click to add points; double-click, press Enter or click the first point to close the zone. "
        "Esc cancels.",
        "单击添加顶点；双击、按回车或单击第一个点闭合区域。Esc 取消。",
    ),
    "editor.hint_line": _m(
        "Click the start, then the end. The arrow points to the “in” side.",
        "先单击起点，再单击终点。箭头指向“进”的一侧。",
    ),
    "editor.hint_select": _m(
        "Click a shape to select it; drag a point or a shape to move it; Delete removes it.",
        "单击图形选中；拖动顶点或图形来移动；按 Delete 删除。",
    ),
    "editor.finish_zone": _m("Finish zone", "完成区域"),
    "editor.delete_selected": _m("Delete selected", "删除选中"),
    "editor.empty": _m("No zones or lines yet.", "还没有区域或线。"),
    "editor.name": _m("Name", "名称"),
    "editor.zone_name": _m("Zone name", "区域名称"),
    "editor.line_name": _m("Line name", "线名称"),
    "editor.zone_default": _m("Zone {n}", "区域 {n}"),
    "editor.line_default": _m("Line {n}", "线 {n}"),
    "editor.kind_zone": _m("zone", "区域"),
    "editor.kind_line": _m("line", "线"),
    "editor.swap": _m("Swap direction", "反转方向"),
    "editor.swap_hint": _m(
        "Swap start and end: “in” and “out” change places.", "交换起点和终点：“进”和“出”互换。"
    ),
    "editor.zone_needs_3": _m("A zone needs at least 3 points.", "区域至少需要 3 个点。"),
    "editor.zone_crosses": _m(
        "The zone's edges cross: place the points in order around the area.",
        "区域的边相交：请按顺序沿区域边缘放置顶点。",
    ),
    "editor.zone_no_area": _m(
        "The zone has no area: its points lie on one line.", "区域没有面积：顶点在一条直线上。"
    ),
    "editor.line_too_short": _m(
        "The end is too close to the start: click further away.", "终点离起点太近，请点远一些。"
    ),
    "editor.no_snapshot": _m(
        "No snapshot from this camera yet: you can still draw on the blank frame.",
        "该摄像机暂无画面：仍可在空白画面上绘制。",
    ),
    "editor.snapshot_alt": _m("Camera snapshot", "摄像机画面"),
    "editor.refresh_snapshot": _m("Refresh picture", "刷新画面"),
    # tasks and rules
    "task.add": _m("New task", "新建任务"),
    "task.edit": _m("Edit task", "编辑任务"),
    "task.none": _m(
        "No analysis tasks yet. Create one for a camera.", "还没有分析任务，请为摄像机新建任务。"
    ),
    "task.need_camera": _m("Add a camera first.", "请先添加摄像机。"),
    "task.name": _m("Task", "任务"),
    "task.camera": _m("Camera", "摄像机"),
    "task.algorithm": _m("Algorithm", "算法"),
    "task.state": _m("State", "状态"),
    "task.error": _m("Error", "错误"),
    "task.events": _m("Events", "事件数"),
    "task.frames": _m("Frames", "已分析帧"),
    "task.start": _m("Start", "启动"),
    "task.stop": _m("Stop", "停止"),
    "task.start_now": _m("Start right away", "立即启动"),
    "task.confirm_delete": _m(
        "Delete task “{name}”? Its events are kept.", "删除任务“{name}”？其事件会保留。"
    ),
    "task.fps": _m("Analysed frames per second", "每秒分析帧数"),
    "task.fps_all": _m("every frame", "每一帧"),
    "task.fps_help": _m("Empty = every frame of the source.", "留空 = 分析源的每一帧。"),
    "task.confidence": _m("Detection confidence", "检测置信度"),
    "task.classes": _m("Object classes", "目标类别"),
    "task.classes_all": _m("all classes", "全部类别"),
    "task.classes_help": _m(
        "Comma-separated COCO names (person, car, bus …); empty = all.",
        "用逗号分隔的 COCO 类别名（person、car、bus …）；留空 = 全部。",
    ),
    "task.zones_lines": _m("Zones and lines", "区域与线"),
    "task.rules": _m("Rules", "规则"),
    "task.state.created": _m("created", "已创建"),
    "task.state.starting": _m("starting", "启动中"),
    "task.state.running": _m("running", "运行中"),
    "task.state.stopping": _m("stopping", "停止中"),
    "task.state.stopped": _m("stopped", "已停止"),
    "task.state.error": _m("error", "错误"),
    "task.state.unknown": _m("unknown", "未知"),
    "task.state.waiting": _m("waiting for its schedule", "等待排程时段"),
    "rule.type": _m("Rule type", "规则类型"),
    "rule.add": _m("Add rule", "添加规则"),
    "rule.none": _m(
        "No rules yet: add one below. Without rules a task produces no events.",
        "还没有规则，请在下方添加。没有规则的任务不会产生事件。",
    ),
    "rule.id": _m("Rule id", "规则编号"),
    "rule.zone": _m("Zone", "区域"),
    "rule.line": _m("Line", "线"),
    "rule.draw_zone_first": _m("Draw a zone above first.", "请先在上方画一个区域。"),
    "rule.draw_line_first": _m("Draw a line above first.", "请先在上方画一条线。"),
    "rule.kept_unknown": _m(
        "{n} rule(s) of other types are kept unchanged.", "另有 {n} 条其他类型的规则保持不变。"
    ),
    "rule.type.line_crossing": _m("Line crossing", "越线"),
    "rule.type.zone_intrusion": _m("Zone intrusion", "区域入侵"),
    "rule.type.loitering": _m("Loitering", "徘徊滞留"),
    "rule.type.crowding": _m("Crowding", "人员聚集"),
    "rule.param.min_confidence": _m("Minimum confidence", "最低置信度"),
    "rule.param.directions": _m("Directions", "方向"),
    "rule.param.min_interval_s": _m("Minimum interval (s)", "最小间隔（秒）"),
    "rule.param.trigger": _m("Trigger on", "触发条件"),
    "rule.param.min_frames": _m("Frames to confirm", "确认帧数"),
    "rule.param.min_dwell_s": _m("Dwell longer than (s)", "停留超过（秒）"),
    "rule.param.exit_grace_s": _m("Short exits allowed (s)", "允许短暂离开（秒）"),
    "rule.param.min_count": _m("At least (objects)", "至少（个目标）"),
    "rule.param.min_duration_s": _m("For at least (s)", "持续至少（秒）"),
    "rule.param.drop_grace_s": _m("Dips allowed (s)", "允许短暂低于（秒）"),
    "rule.help.min_interval_s": _m(
        "One track counts at most once per direction within this time.",
        "同一目标在此时间内每个方向最多计一次。",
    ),
    "rule.help.min_frames": _m(
        "Consecutive frames on the other side before the state changes.", "连续多少帧在另一侧才改变状态。"
    ),
    "rule.help.min_dwell_s": _m(
        "An event when a track stays in the zone longer than this.", "目标在区域内停留超过此时间时报警。"
    ),
    "rule.help.exit_grace_s": _m(
        "Leaving for up to this long does not end the stay.", "离开不超过此时间不算结束停留。"
    ),
    "rule.help.min_count": _m(
        "Crowded means at least this many objects in the zone.", "区域内目标数达到此值即为聚集。"
    ),
    "rule.help.min_duration_s": _m("Crowded for this long before the event.", "聚集持续此时间后报警。"),
    "rule.help.drop_grace_s": _m(
        "The count may dip below the minimum this long.", "目标数可短暂低于阈值的时间。"
    ),
    "trigger.enter": _m("enter", "进入"),
    "trigger.leave": _m("leave", "离开"),
    "trigger.inside": _m("inside", "区域内"),
    # live feed
    "live.connecting": _m("connecting…", "连接中…"),
    "live.connected": _m("live", "实时连接"),
    "live.reconnecting": _m("reconnecting…", "重新连接中…"),
    "live.closed": _m("disconnected: reload the page", "已断开：请刷新页面"),
    "live.waiting": _m(
        "Waiting for events. New events appear here the moment they are stored.",
        "等待事件。新事件存储后会立即显示在这里。",
    ),
    "live.dropped": _m("{n} events skipped (the page was too slow)", "跳过了 {n} 个事件（页面处理过慢）"),
    # events
    "event.status": _m("Status", "状态"),
    "event.confidence": _m("Confidence", "置信度"),
    "event.rule": _m("Rule", "规则"),
    "event.zone": _m("Zone", "区域"),
    "event.line": _m("Line", "线"),
    "event.direction": _m("Direction", "方向"),
    "event.track": _m("Track", "轨迹编号"),
    "event.frame_seq": _m("Frame no.", "帧序号"),
    "event.pts": _m("Stream time (s)", "流时间（秒）"),
    "event.id": _m("Event id", "事件编号"),
    "event.facts": _m("Details", "详情"),
    "event.attributes": _m("Attributes", "属性"),
    "event.no_attributes": _m("No attributes.", "无属性。"),
    "event.trace": _m("Strategy trace", "策略链路"),
    "event.no_trace": _m("No strategy steps were recorded for this event.", "该事件没有策略步骤记录。"),
    "event.no_image": _m("no image", "无图片"),
    "event.image_frame": _m("Full frame, boxes drawn by the page", "完整画面（页面绘制目标框）"),
    "event.image_preview": _m("Preview", "预览图"),
    "event.image_crop": _m("Crop", "目标截图"),
    "event.back": _m("Back to events", "返回事件列表"),
    "event.not_found": _m(
        "This event does not exist (it may have been removed by retention).",
        "事件不存在（可能已按保留策略删除）。",
    ),
    "events.none_match": _m("No events match these filters.", "没有符合筛选条件的事件。"),
    "events.no_more": _m("No more events.", "没有更多事件了。"),
    "filter.any_camera": _m("All cameras", "全部摄像机"),
    "filter.any_type": _m("All types", "全部类型"),
    "filter.any_status": _m("All statuses", "全部状态"),
    "filter.any_state": _m("All states", "全部状态"),
    "filter.from": _m("From", "开始时间"),
    "filter.to": _m("To", "结束时间"),
    "filter.sort": _m("Order", "排序"),
    "filter.newest": _m("Newest first", "最新优先"),
    "filter.oldest": _m("Oldest first", "最早优先"),
    "filter.apply": _m("Search", "查询"),
    "filter.reset": _m("Reset", "重置"),
    "filter.bad_range": _m("The end time must be after the start time.", "结束时间必须晚于开始时间。"),
    "page.prev": _m("Previous", "上一页"),
    "page.next": _m("Next", "下一页"),
    "page.range": _m("{first}–{last}", "第 {first}–{last} 条"),
    "page.range_total": _m("{first}–{last} of {total}", "第 {first}–{last} 条，共 {total} 条"),
    "attr.dwell_s": _m("Dwell (s)", "停留（秒）"),
    "attr.counts": _m("Counts", "计数"),
    "attr.count": _m("Count", "数量"),
    "attr.duration_s": _m("Duration (s)", "持续（秒）"),
    "attr.appeared": _m("Appeared inside", "出现在区域内"),
    "attr.reason": _m("Reason", "原因"),
    "attr.last_seen_pts": _m("Last seen (s)", "最后出现（秒）"),
    "attr.stay_start_pts": _m("Stay started (s)", "停留开始（秒）"),
    "attr.snapshot_error": _m("Snapshot error", "抓拍错误"),
    "trace.pass": _m("passed", "通过"),
    "trace.passed": _m("passed", "通过"),
    "trace.block": _m("blocked", "拦截"),
    "trace.blocked": _m("blocked", "拦截"),
    # review
    "review.title": _m("Review", "审核"),
    "review.pending": _m("pending", "待审核"),
    "review.true": _m("true positive", "真实事件"),
    "review.false": _m("false positive", "误报"),
    "review.ignored": _m("ignored", "已忽略"),
    "review.mark_true": _m("True positive", "确认真实"),
    "review.mark_false": _m("False positive", "标记误报"),
    "review.mark_ignored": _m("Ignore", "忽略"),
    "review.note": _m("Note (optional)", "备注（可选）"),
    "review.none": _m("Not reviewed yet.", "尚未审核。"),
    "review.need_role": _m("Reviewing needs the reviewer role.", "审核需要审核员角色。"),
    "review.unknown_reviewer": _m("(deleted user)", "（已删除用户）"),
    # hazards
    "hazard.title": _m("Hazard ticket", "隐患工单"),
    "hazard.none": _m("No hazard reported for this event.", "该事件未上报隐患。"),
    "hazard.report": _m("Report hazard", "上报隐患"),
    "hazard.ticket_title": _m("Title", "标题"),
    "hazard.description": _m("Description", "描述"),
    "hazard.untitled": _m("(untitled)", "（无标题）"),
    "hazard.state": _m("State", "状态"),
    "hazard.assignee": _m("Assignee", "负责人"),
    "hazard.updated": _m("Updated", "更新时间"),
    "hazard.reported_by": _m("Reported by {name} at {time}", "{name} 上报于 {time}"),
    "hazard.comment": _m("Comment", "评论"),
    "hazard.comment_placeholder": _m("Comment or note for the state change", "评论，或状态变更的说明"),
    "hazard.add_comment": _m("Add comment", "添加评论"),
    "hazard.comment_empty": _m("Write a comment first.", "请先填写评论。"),
    "hazard.no_comments": _m("No comments yet.", "暂无评论。"),
    "hazard.empty": _m(
        "No hazard tickets. Report one from an event's page.", "暂无隐患工单。可在事件详情页上报。"
    ),
    "hazard.open_event": _m("Open the event", "查看事件"),
    "hazard.reject": _m("Verification failed: back to rectifying", "核实不通过，退回整改"),
    "hazard.state.reported": _m("reported", "已上报"),
    "hazard.state.rectifying": _m("rectifying", "整改中"),
    "hazard.state.verifying": _m("verifying", "待核实"),
    "hazard.state.accepted": _m("accepted", "已验收"),
    "hazard.to.rectifying": _m("Start rectification", "开始整改"),
    "hazard.to.verifying": _m("Submit for verification", "提交核实"),
    "hazard.to.accepted": _m("Accept", "验收通过"),
}


MESSAGES.update(_STRATEGY_MESSAGES)  # the strategy center's pages (sightline/i18n_strategies.py)
MESSAGES.update(_UPLOAD_MESSAGES)  # the "Analyse a file" page (sightline/i18n_uploads.py)


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
