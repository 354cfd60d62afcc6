"""Key bindings of the shell beyond prompt_toolkit's defaults.

Tab completes synchronously: the completer reads memory only, so there is nothing to wait for,
and a Tab typed ahead of Enter (fast typing, a paste, a test) is applied before the Enter
instead of racing prompt_toolkit's background completion. One match is inserted; several
insert their common part, or open the menu when there is none; Tab again moves in the menu.

Enter on a completion highlighted in the menu takes it (the menu closes, the line stays to be
finished), as in pgcli and fish; with nothing highlighted, or no menu, Enter runs the line.
"""

from __future__ import annotations

from prompt_toolkit.completion import CompleteEvent, Completer, get_common_complete_suffix
from prompt_toolkit.filters import completion_is_selected, has_completions
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent


def shell_bindings(completer: Completer) -> KeyBindings:
    """The shell's own key bindings."""
    bindings = KeyBindings()

    @bindings.add("tab", filter=~has_completions)
    def complete(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        document = buffer.document
        found = list(completer.get_completions(document, CompleteEvent(completion_requested=True)))
        if len(found) == 1:
            buffer.apply_completion(found[0])
            return
        common = get_common_complete_suffix(document, found) if found else ""
        if common:
            buffer.insert_text(common)
        elif found:
            buffer.start_completion(select_first=False)

    @bindings.add("enter", filter=completion_is_selected)
    def take_completion(event: KeyPressEvent) -> None:
        event.current_buffer.complete_state = None  # the highlighted one is on the line

    return bindings
