"""The chat view's few CSS rules, added once per browser tab."""

from __future__ import annotations

import weakref

from nicegui import Client, ui

CSS = """
.ccs-pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; line-height: 1.45;
           white-space: pre-wrap; word-break: break-word; }
.ccs-code .codehilite { margin: 0; }
.ccs-code pre { font-size: 12px; margin: 0; padding: 6px 8px; border-radius: 4px; overflow-x: auto;
                background: rgba(127, 127, 127, .08); }
.ccs-md p:last-child { margin-bottom: 0; }
.ccs-md pre { font-size: 12px; padding: 6px 8px; border-radius: 4px; overflow-x: auto;
              background: rgba(127, 127, 127, .08); }
.ccs-user { background: rgba(100, 149, 237, .16); border-radius: 10px; padding: 8px 12px; }
.ccs-echo { border-left: 3px solid rgba(127, 127, 127, .4); padding-left: 8px; opacity: .8; }
.ccs-tool { border: 1px solid rgba(127, 127, 127, .28); border-radius: 8px; padding: 6px 10px; gap: 4px;
            overflow-wrap: anywhere; }
.ccs-tool-error { border-color: var(--q-negative); }
.ccs-result-error { color: var(--q-negative); }
.ccs-muted { opacity: .65; font-size: 12px; }
.ccs-mini-btn { display: inline-flex; align-items: center; gap: 4px; background: none; border: 0; color: inherit;
                padding: 2px 6px; border-radius: 4px; font: inherit; font-size: 12px; opacity: .75;
                cursor: pointer; }
.ccs-mini-btn:hover, .ccs-mini-btn:focus-visible { opacity: 1; background: rgba(127, 127, 127, .16); }
.ccs-thinking { opacity: .75; font-style: italic; }
.ccs-approval { border: 1px solid var(--q-warning); border-radius: 8px; padding: 10px 12px; }
.ccs-approval-done { border-color: rgba(127, 127, 127, .35); }
.ccs-nested { border-left: 2px solid rgba(127, 127, 127, .35); padding-left: 10px; }
/* Two steps a cycle, not a smooth fade: a smooth one repaints every frame (measured: a fifth of a core for
   ten software-rendered windows); a blink repaints twice a cycle. */
.ccs-pulse { animation: ccs-pulse 1.2s steps(2, jump-none) infinite; }
@keyframes ccs-pulse { 0%, 100% { opacity: .25; } 50% { opacity: 1; } }
.ccs-summary { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; opacity: .8;
               min-width: 0; }
"""

_styled: weakref.WeakSet[Client] = weakref.WeakSet()


def ensure_style() -> None:
    client = ui.context.client
    if client not in _styled:
        ui.add_css(CSS)
        _styled.add(client)
