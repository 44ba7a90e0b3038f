"""UI strings of the strategy center (P1–P4), English and Simplified Chinese.

Kept beside :mod:`sightline.i18n` (which merges this table into its
``MESSAGES``) so the strategy pages' many strings do not crowd the shared
table; the rules are the same: every key in both languages, same
``{placeholders}``.
"""

from __future__ import annotations


def _m(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh-CN": zh}


MESSAGES: dict[str, dict[str, str]] = {
    "nav.strategies": _m("Strategies", "策略中心"),
    # list
    "strategy.title": _m("Strategies", "算法策略"),
    "strategy.new": _m("New strategy", "新建策略"),
    "strategy.id": _m("Id", "编号"),
    "strategy.name": _m("Name", "名称"),
    "strategy.cameras": _m("Cameras", "摄像机"),
    "strategy.types": _m("Event types", "事件类型"),
    "strategy.elements": _m("Elements", "元素"),
    "strategy.version": _m("Version", "版本"),
    "strategy.priority": _m("Priority", "优先级"),
    "strategy.enabled": _m("Enabled", "启用"),
    "strategy.all_cameras": _m("all cameras", "全部摄像机"),
    "strategy.on": _m("on", "已启用"),
    "strategy.off": _m("off", "已停用"),
    "strategy.enable": _m("Enable", "启用"),
    "strategy.disable": _m("Disable", "停用"),
    "strategy.edit": _m("Edit", "编辑"),
    "strategy.delete": _m("Delete", "删除"),
    "strategy.delete_confirm": _m(
        "Delete strategy {id}? Its events keep their trace.", "删除策略 {id}？其事件仍保留链路记录。"
    ),
    "strategy.none": _m(
        "No strategies yet. Create one to filter raw events.", "暂无策略。新建策略以过滤原始事件。"
    ),
    "strategy.load_error": _m("Not running: {error}", "未生效：{error}"),
    "strategy.need_role": _m("Editing strategies needs the operator role.", "编辑策略需要运维员角色。"),
    # editor
    "strategy.editor": _m("Strategy (YAML or JSON)", "策略（YAML 或 JSON）"),
    "strategy.editor_hint": _m(
        "An ordered chain of elements; the first element that blocks an event stops it. "
        "Saving makes a new version that the next event uses.",
        "按顺序执行的元素链；第一个拦截的元素即终止。保存后生成新版本，下一个事件立即生效。",
    ),
    "strategy.validate": _m("Validate", "校验"),
    "strategy.save": _m("Save as new version", "保存为新版本"),
    "strategy.create": _m("Create", "创建"),
    "strategy.valid": _m("Valid: {n} element(s).", "校验通过：{n} 个元素。"),
    "strategy.saved": _m(
        "Saved version {version}; it runs from the next event.", "已保存版本 {version}，下一个事件起生效。"
    ),
    "strategy.versions": _m("Versions", "版本历史"),
    "strategy.version_by": _m("v{version} by {author}, {time}", "v{version}，{author}，{time}"),
    "strategy.load_version": _m("Load into editor", "载入编辑器"),
    "strategy.close": _m("Close editor", "关闭编辑器"),
    # back-test
    "backtest.title": _m("Back-test on stored events", "历史回测"),
    "backtest.hint": _m(
        "Replays the stored raw events (passed and blocked) of the range through the editor's draft "
        "and the live version.",
        "用编辑器中的草稿和线上版本重放该时间段内存储的原始事件（含已通过和已拦截）。",
    ),
    "backtest.run": _m("Run back-test", "运行回测"),
    "backtest.camera": _m("Camera (optional)", "摄像机（可选）"),
    "backtest.total": _m("Events replayed", "重放事件数"),
    "backtest.passed": _m("Passed", "通过"),
    "backtest.blocked": _m("Blocked", "拦截"),
    "backtest.live": _m("Live version", "线上版本"),
    "backtest.draft": _m("Draft", "草稿"),
    "backtest.per_element": _m("Per element", "各元素统计"),
    "backtest.element": _m("Element", "元素"),
    "backtest.changed": _m("Changed events ({n})", "结果变化的事件（{n}）"),
    "backtest.no_changes": _m("No event changes its outcome.", "没有事件的结果发生变化。"),
    "backtest.precision": _m("Precision", "精确率"),
    "backtest.recall": _m("Recall", "召回率"),
    "backtest.reviewed": _m("Reviewed events", "已审核事件"),
    "backtest.not_enough_reviews": _m("no reviewed events", "无已审核事件"),
    "backtest.before": _m("Live", "线上"),
    "backtest.after": _m("Draft", "草稿"),
    # effectiveness
    "effect.title": _m("Effectiveness", "策略效果"),
    "effect.hint": _m(
        "Raw events from the rules, events let out (output) and events blocked, per day.",
        "规则产生的原始事件、输出事件与被拦截事件（按天）。",
    ),
    "effect.raw": _m("Raw", "原始"),
    "effect.output": _m("Output", "输出"),
    "effect.blocked": _m("Blocked", "拦截"),
    "effect.block_ratio": _m("Blocked share", "拦截率"),
    "effect.by_type": _m("By event type", "按事件类型"),
    "effect.by_camera": _m("By camera", "按摄像机"),
    "effect.none": _m("No events in this range.", "该时间段内没有事件。"),
    "effect.days": _m("Last days", "最近天数"),
    "effect.chart": _m("Events per day: output and blocked", "每日事件：输出与拦截"),
    # error library
    "library.title": _m("Error library", "误报库"),
    "library.hint": _m(
        "Crops of false positives per camera and type; new events that look the same (perceptual hash) are "
        "blocked.",
        "按摄像机和类型保存的误报截图；外观相同（感知哈希）的新事件将被拦截。",
    ),
    "library.none": _m("The error library is empty.", "误报库为空。"),
    "library.remove": _m("Remove", "移除"),
    "library.added": _m("Added to the camera's error library.", "已加入该摄像机的误报库。"),
    "library.source_event": _m("Source event", "来源事件"),
    # event detail and review
    "event.outcome": _m("Strategy outcome", "策略结果"),
    "event.strategy": _m("Strategy", "策略"),
    "event.blocked_by": _m("Blocked by {element}", "被 {element} 拦截"),
    "outcome.passed": _m("passed", "已通过"),
    "outcome.blocked": _m("blocked", "已拦截"),
    "outcome.all": _m("all", "全部"),
    "filter.outcome": _m("Outcome", "策略结果"),
    "trace.blocking": _m("blocking element", "拦截元素"),
    "review.mark_false_library": _m("False positive + add to error library", "标记误报并加入误报库"),
}
