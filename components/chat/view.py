"""The chat view of one job (spec D1-D6, E1-E3): its transcript, live, with approvals inline.

Opening renders only the most recent events; older ones load on demand, each
batch in a lane of its own at the top. Events after that arrive through
`JobManager.follow` (read and subscribe with no await in between, then
dedupe by seq), so a reload or a second browser shows everything exactly once.

Work can appear before what it belongs to when the window starts mid-turn: a
tool result whose call is further up, or a subagent's steps whose Task call
is. They are shown on their own ("orphans") and folded into their card as soon
as an earlier batch brings it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from nicegui import ui

from components.chat import items
from components.chat.approval_card import ApprovalCard
from components.chat.fmt import tag
from components.chat.indicator import WorkingIndicator
from components.chat.lane import Lane
from components.chat.output import output
from components.chat.rewind_dialog import RewindDialog
from components.chat.streaming import LiveStream
from components.chat.style import ensure_style
from components.chat.tool_card import ToolCard
from core import events as ev

INITIAL_EVENTS = 100
PAGE_EVENTS = 200
FLUSH_INTERVAL_S = 0.1
AUTOSCROLL_JS = """
(() => {
  const root = getHtmlElement(%d);
  if (!root || root.dataset.autoscroll) return;
  root.dataset.autoscroll = '1';
  let box = root.parentElement;
  const scrolls = (el) => /(auto|scroll)/.test(getComputedStyle(el).overflowY);
  while (box && box !== document.body && !scrolls(box)) box = box.parentElement;
  const scroller = (!box || box === document.body) ? document.scrollingElement : box;
  const target = scroller === document.scrollingElement ? window : scroller;
  let pinned = true;
  target.addEventListener('scroll', () => {
    pinned = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }, {passive: true});
  new ResizeObserver(() => { if (pinned) scroller.scrollTop = scroller.scrollHeight; }).observe(root);
  scroller.scrollTop = scroller.scrollHeight;
})();
"""


class _Orphan:
    """Subagent steps shown before the Task call they belong to has been loaded."""

    def __init__(self) -> None:
        with tag(ui.column().classes("w-full gap-1"), "orphan-subagent") as self.element:
            ui.label("Subagent work (its call is further up: load earlier events)").classes("ccs-muted")
            self.lane = Lane("ccs-nested")
        self.steps = 0


class _Root(ui.column):
    """The view's outer column; tells the view when it is deleted (a page swapping jobs in one tab)."""

    def __init__(self, on_delete: Callable[[], None]) -> None:
        super().__init__()
        self._on_delete = on_delete

    def _handle_delete(self) -> None:
        self._on_delete()
        super()._handle_delete()


def working_folder(jobs: Any, job: Any) -> str | None:
    """The folder a job works in (its worktree when isolated): paths in its cards are shown relative to it."""
    try:
        return str(jobs.isolation.directory(job))
    except Exception:  # a project gone from disk or the records: paths are then shown as they are
        return None


class ChatView:
    def __init__(self, services: Any, job_id: str, *, on_fork: Callable[[int], Any] | None = None,
                 on_edit: Callable[[int, str], Any] | None = None, initial_events: int = INITIAL_EVENTS,
                 page_events: int = PAGE_EVENTS, offer_rewind: bool = True) -> None:
        """Build the view in the current UI context.

        `on_fork(seq)` is offered after each completed turn (seq of its `result` event);
        `on_edit(seq, text)` on each of the user's messages. Without them the buttons are left out.
        `offer_rewind`: each of the user's messages offers to restore files to before it (its own dialog).
        """
        ensure_style()
        self.jobs = services.jobs
        self.hub = services.hub
        self.job_id = job_id
        self.on_fork = on_fork
        self.on_edit = on_edit
        self.on_rewind = self._open_rewind if offer_rewind else None
        self.page_events = page_events
        self.last_seq = 0
        self.first_seq: int | None = None
        self._cards: dict[str, ToolCard] = {}
        self._task_cards: dict[str, ToolCard] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._orphan_results: dict[str, ui.element] = {}
        self._orphans: dict[str, _Orphan] = {}
        self._approvals: dict[str, ApprovalCard] = {}
        self._resolutions: dict[str, dict[str, Any]] = {}
        self._queued: dict[str, items.QueuedPrompt] = {}
        self._sent: set[str] = set()
        self._older_queued: list[str] = []
        self._unsubscribe: Callable[[], None] = lambda: None
        self._unsubscribe_notices: Callable[[], None] = lambda: None
        job = self.jobs.get(job_id)
        self._root = working_folder(self.jobs, job)

        self._closed = False
        with _Root(self.close).classes("w-full gap-2") as self.root:
            tag(self.root, "chat-view")
            self._earlier = tag(ui.button("Load earlier", icon="expand_less", on_click=self.load_earlier)
                                .props("flat dense no-caps").classes("self-center"), "load-earlier")
            self._pages = ui.column().classes("w-full gap-2")
            with self._pages:
                self._lane = Lane()
            self._stream = LiveStream()
            # Queued follow-ups wait here, below the turn still running, until the CLI takes them.
            self._queue_box = ui.column().classes("w-full gap-2")
            self.indicator = WorkingIndicator(job.to_dict())
            ui.timer(FLUSH_INTERVAL_S, self._tick)

        # No await from here to the end: the window, the subscription and the partial stream agree.
        tail = self.jobs.events_before(job_id, sys.maxsize, initial_events)
        backlog, self._unsubscribe = self.jobs.follow(job_id, self._on_event, tail[-1]["seq"] if tail else 0)
        self._unsubscribe_notices = self.hub.subscribe_all(self._on_notice)
        partial = self.jobs.live_info(job_id).get("partial") or []
        self.first_seq = tail[0]["seq"] if tail else None
        for event in tail + backlog:
            self._ingest(event, live=False)
        self._adopt_orphans()
        self._show_unlisted_approvals()
        self._stream.seed(partial)
        self._earlier.set_visibility(len(tail) >= initial_events)
        self._drop_stale_queued()

        ui.context.client.on_delete(self.close)
        ui.run_javascript(AUTOSCROLL_JS % self.root.id)  # sent once the browser is connected

    def close(self) -> None:
        """Stop following the job; called when the tab or the view goes away, safe to call twice."""
        if not self._closed:
            self._closed = True
            self._unsubscribe()
            self._unsubscribe_notices()

    # -- feeds ----------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("kind") == ev.DELTA:
            self._stream.on_delta(event)
        else:
            self._ingest(event)

    def _ingest(self, event: dict[str, Any], live: bool = True) -> None:
        """A stored event at the live end of the transcript, at most once."""
        seq = event.get("seq", 0)
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        kind = event.get("kind")
        if kind == ev.ASSISTANT and not event.get("parent_tool_use_id"):
            self._stream.clear()
        if kind == ev.USER and not event.get("echoed") and not event.get("parent_tool_use_id"):
            self.indicator.turn_started(event.get("ts"))
        if kind == ev.STATUS and event.get("status") == "running":
            self.indicator.turn_started(event.get("ts"))
        self._render(event, self._lane, live=live)

    def _on_notice(self, notice: dict[str, Any]) -> None:
        if notice.get("kind") != "job" or (notice.get("job") or {}).get("id") != self.job_id:
            return
        self.indicator.update_job(notice["job"])
        if not self.indicator.active:
            self._stream.clear()  # a turn that ended mid-stream leaves nothing to complete it
            self._drop_stale_queued()

    def _tick(self) -> None:
        self._stream.flush()
        self.indicator.tick()

    def load_earlier(self) -> None:
        if self.first_seq is None:
            return
        older = self.jobs.events_before(self.job_id, self.first_seq, self.page_events)
        if older:
            with self._pages:
                lane = Lane()
            lane.root.move(target_index=0)
            for event in older:
                self._render(event, lane, live=False)
            self._adopt_orphans()
            self.first_seq = older[0]["seq"]
            for uuid in self._older_queued:
                self._queued.pop(uuid, None)
            self._older_queued.clear()
        self._earlier.set_visibility(len(older) >= self.page_events)

    # -- rendering ------------------------------------------------------------------------

    def _render(self, event: dict[str, Any], lane: Lane, *, live: bool) -> None:
        kind = event.get("kind")
        parent = event.get("parent_tool_use_id")
        if not parent:
            self._note_turns(event, lane)
        target = self._lane_for(parent, lane) if parent else lane
        if kind == ev.ASSISTANT:
            self._render_block(event, target, live=live, parent=parent)
        elif kind == ev.TOOL_RESULT:
            self._render_result(event, target)
        elif kind == ev.USER:
            self._render_user(event, target, nested=bool(parent))
        elif kind == ev.RESULT:
            with lane.slot():
                items.result_footer(event, self.on_fork)
        elif kind == ev.APPROVAL:
            self._render_approval(event, lane)
        elif kind == ev.APPROVAL_RESOLVED:
            self._resolutions[event.get("approval_id", "")] = event
            card = self._approvals.get(event.get("approval_id", ""))
            if card is not None:
                card.resolve(event)
        elif kind == ev.PROMPT_QUEUED:
            self._render_queued(event, lane)
        elif kind == ev.TASK:
            card = self._cards.get(event.get("tool_use_id") or "") or self._task_cards.get(event.get("task_id"))
            if card is not None:
                self._task_cards[event.get("task_id", "")] = card
                card.note_task(event)
        else:
            self._render_notice(event, lane)

    def _render_block(self, event: dict[str, Any], lane: Lane, *, live: bool, parent: str | None) -> None:
        block = event.get("block") or {}
        block_type = block.get("type")
        if block_type == "thinking":
            if lane.thinking is not None:
                lane.thinking.append(block.get("thinking", ""))
                return
            with lane.slot():
                thinking = items.Thinking(block.get("thinking", ""))
            lane.thinking = thinking
        elif block_type in ("tool_use", "server_tool_use"):
            with lane.slot():
                card = ToolCard(block, expand_nested=live, root=self._root)
            self._cards[card.id] = card
            if card.id in self._results:  # shown further down already, as an orphan
                card.set_result(self._results[card.id])
                orphan = self._orphan_results.pop(card.id, None)
                if orphan is not None:
                    orphan.delete()
            if parent:
                self._count_step(parent)
        else:
            with lane.slot():
                shown_error = items.assistant_text(event)
            if shown_error:
                lane.last_error = shown_error

    def _render_result(self, event: dict[str, Any], lane: Lane) -> None:
        tool_use_id = event.get("tool_use_id", "")
        self._results[tool_use_id] = event
        card = self._cards.get(tool_use_id)
        if card is not None:
            card.set_result(event)
            return
        with lane.slot(), tag(ui.column().classes("ccs-tool w-full gap-1"), "orphan-result") as box:
            ui.label("Result of a tool call further up").classes("ccs-muted")
            output(str(event.get("content") or ""), title="Result",
                   classes="ccs-result-error" if event.get("is_error") else "")
        self._orphan_results[tool_use_id] = box

    def _render_user(self, event: dict[str, Any], lane: Lane, *, nested: bool) -> None:
        if nested:
            return  # a subagent's prompt, already shown in its Task card
        if event.get("echoed"):
            with lane.slot():
                items.echoed_user(event)
            return
        uuid = event.get("uuid")
        if uuid:
            self._sent.add(uuid)
            queued = self._queued.pop(uuid, None)
            if queued is not None:
                queued.element.delete()
        with lane.slot(new_turn=True):
            items.user_message(event, self.on_edit, self.on_rewind)

    def _render_queued(self, event: dict[str, Any], lane: Lane) -> None:
        uuid = event.get("uuid", "")
        if uuid in self._sent:
            return
        if lane is self._lane:
            with self._queue_box:
                self._queued[uuid] = items.QueuedPrompt(event)
            return
        # In an older batch everything after it is known: unless its user event follows in this
        # batch (which deletes this item again), it was never sent.
        with lane.slot():
            queued = self._queued[uuid] = items.QueuedPrompt(event)
        self._older_queued.append(uuid)
        queued.mark_dropped()

    def _render_approval(self, event: dict[str, Any], lane: Lane) -> None:
        approval = event.get("approval") or {}
        if not approval.get("id") or approval["id"] in self._approvals:
            return
        pending = any(a.id == approval["id"] for a in self.jobs.approvals.pending(self.job_id))
        with lane.slot():
            card = ApprovalCard(approval, self.jobs.approvals, pending=pending, root=self._root)
        self._approvals[card.id] = card
        if card.id in self._resolutions:
            card.resolve(self._resolutions[card.id])

    def _render_notice(self, event: dict[str, Any], lane: Lane) -> None:
        kind = event.get("kind")
        if kind == ev.ERROR and event.get("message") == lane.last_error:
            return
        if kind in (ev.ERROR, ev.WARNING):
            described: tuple[str, str] | None = (event.get("message", ""), kind)
        elif kind == ev.STATUS:
            described = items.describe_status(event, lane.last_error)
        elif kind == ev.SESSION_RESET:
            described = ("Conversation cleared: a new session starts here", "warning")
        elif kind == ev.REWIND:
            with lane.slot():
                items.rewind_notice(event)
            return
        elif kind == ev.SYSTEM and event.get("subtype") == "forked":
            parent = self.jobs.jobs.get(str(event.get("parent_job_id") or ""))
            with lane.slot():
                items.fork_notice(parent.name if parent else None, parent.id if parent else None)
            return
        elif kind == ev.SYSTEM:
            described = self._describe_system(event, lane)
        else:
            described = None
        if kind == ev.ERROR or (kind == ev.STATUS and event.get("status") == "failed"):
            lane.last_error = event.get("message") or event.get("error")
        if described is not None:
            with lane.slot():
                items.notice(*described)

    def _note_turns(self, event: dict[str, Any], lane: Lane) -> None:
        """A turn nobody sent (a background agent finished, a scheduled task fired) says where it came from."""
        kind = event.get("kind")
        if kind == ev.RESULT:
            lane.after_turn = True
        elif kind == ev.USER and not event.get("echoed"):
            lane.after_turn = False
        elif kind == ev.TASK and event.get("subtype") == "task_notification" and event.get("status") == "completed":
            card = self._cards.get(event.get("tool_use_id") or "")
            lane.finished_agent = (card.input.get("description") if card is not None else None) or "a subagent"
        elif kind == ev.STATUS and event.get("status") == "running" and lane.after_turn:
            lane.after_turn = False
            agent, lane.finished_agent = lane.finished_agent, None
            text = (f"Background result: the subagent “{agent}” finished, and Claude replies to what it found"
                    if agent else "A turn nobody sent: a scheduled task fired or a background agent finished")
            with lane.slot(new_turn=True), ui.row().classes("items-center no-wrap gap-2 ccs-muted") as row:
                tag(row, "background-turn")
                ui.icon("smart_toy" if agent else "schedule", size="xs")
                ui.label(text)

    @staticmethod
    def _describe_system(event: dict[str, Any], lane: Lane) -> tuple[str, str] | None:
        if event.get("subtype") == "init":
            # The CLI repeats init at every turn; only a new session or model is news.
            key = (event.get("session_id"), event.get("model"))
            if key == lane.last_init:
                return None
            lane.last_init = key
        text = items.describe_system(event)
        return (text, "info") if text else None

    def _open_rewind(self, seq: int, text: str) -> None:
        with self.root:  # not inside the message: a lane may be re-rendered while the dialog is open
            RewindDialog(self.jobs, self.job_id, seq, text)

    # -- subagents, orphans, approvals, queued prompts ---------------------------------------

    def _lane_for(self, parent: str, lane: Lane) -> Lane:
        card = self._cards.get(parent)
        if card is not None:
            return card.nested_lane()
        orphan = self._orphans.get(parent)
        if orphan is None:
            with lane.slot():
                orphan = self._orphans[parent] = _Orphan()
        return orphan.lane

    def _count_step(self, parent: str) -> None:
        card = self._cards.get(parent)
        if card is not None:
            card.add_steps()
        elif parent in self._orphans:
            self._orphans[parent].steps += 1

    def _adopt_orphans(self) -> None:
        for parent, orphan in list(self._orphans.items()):
            card = self._cards.get(parent)
            if card is None:
                continue
            card.nested_lane().adopt(orphan.lane)
            if orphan.steps:
                card.add_steps(orphan.steps)
            orphan.element.delete()
            del self._orphans[parent]

    def _show_unlisted_approvals(self) -> None:
        """A pending approval older than the window must still be answerable here."""
        for approval in self.jobs.approvals.pending(self.job_id):
            if approval.id not in self._approvals:
                with self._lane.slot():
                    self._approvals[approval.id] = ApprovalCard(approval.to_dict(), self.jobs.approvals,
                                                                root=self._root)

    def _drop_stale_queued(self) -> None:
        """Queued prompts still unsent when the job stops running were dropped (Stop clears the queue)."""
        if self.indicator.active:
            return
        for queued in self._queued.values():
            queued.mark_dropped()
        self._queued.clear()
