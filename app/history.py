"""Undo/redo over combinations, and the strip of recent results."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap, QUndoCommand
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from .state import SLOT_LABELS, Combination, MixOutcome

MAX_RECENT = 30
_ROLE = Qt.ItemDataRole.UserRole


class ChangeCommand(QUndoCommand):
    """Replaces the whole combination; undo puts the previous one back."""

    def __init__(
        self,
        apply: Callable[[Combination], None],
        before: Combination,
        after: Combination,
        text: str,
    ) -> None:
        super().__init__(text)
        self._apply, self.before, self.after = apply, before, after

    def redo(self) -> None:
        self._apply(self.after)

    def undo(self) -> None:
        self._apply(self.before)


class RecentStripWidget(QListWidget):
    """Recent results, newest first; clicking one restores its combination."""

    combination_chosen = Signal(object)  # Combination

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setMovement(QListView.Movement.Static)
        self.setIconSize(QSize(64, 64))
        self.setGridSize(QSize(74, 74))
        self.setFixedHeight(92)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setToolTip("Recent results: click one to bring back its four inputs")
        self.itemClicked.connect(self._on_item_clicked)

    def add(self, outcome: MixOutcome) -> None:
        if not outcome.complete:
            return
        if self.count() and self.item(0).data(_ROLE).same_as(outcome.combination):
            return
        item = QListWidgetItem(QIcon(QPixmap.fromImage(outcome.image)), "")
        item.setData(_ROLE, outcome.combination)
        item.setToolTip(_describe(outcome.combination))
        self.insertItem(0, item)
        while self.count() > MAX_RECENT:
            self.takeItem(self.count() - 1)

    def combinations(self) -> list[Combination]:
        return [self.item(row).data(_ROLE) for row in range(self.count())]

    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.combination_chosen.emit(item.data(_ROLE))


def _describe(combination: Combination) -> str:
    lines = [f"{combination.mode} mode"]
    for slot, state in combination.items():
        what = state.name or "—"
        if state.code is not None:
            what += f" ({state.code.describe()})"
        lines.append(f"{SLOT_LABELS[slot]}: {what}")
    return "\n".join(lines)
