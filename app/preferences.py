"""The preferences dialog (theme, CPU threads) and the "How mixing works" help page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from .theme import THEMES

THEME_LABELS = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
THREADS_TIP = (
    "How many CPU threads one mix may use. Automatic leaves half of the processor free, which "
    "keeps mixing quick when other programs are busy; more threads can be faster on an idle "
    "machine but much slower on a busy one."
)


class PreferencesDialog(QDialog):
    """Edits ``theme`` ("system", "light", "dark") and ``threads`` (0 = automatic)."""

    def __init__(self, theme: str, threads: int, auto_threads: int, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self.theme_box = QComboBox(self)
        for name in THEMES:
            self.theme_box.addItem(THEME_LABELS[name], name)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(theme)))
        self.threads_box = QSpinBox(self)
        self.threads_box.setRange(0, 64)
        self.threads_box.setSpecialValueText(f"Automatic ({auto_threads})")
        self.threads_box.setValue(threads)
        self.threads_box.setToolTip(THREADS_TIP)
        form = QFormLayout()
        form.addRow("Colours:", self.theme_box)
        form.addRow("CPU threads per mix:", self.threads_box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def theme(self) -> str:
        return self.theme_box.currentData()

    def threads(self) -> int:
        return self.threads_box.value()


def readme_figures_url() -> QUrl | None:
    """The README's Figures section when the README is on disk (a checkout), else None."""
    readme = Path(__file__).resolve().parent.parent / "README.md"
    if not readme.is_file():
        return None
    url = QUrl.fromLocalFile(str(readme))
    url.setFragment("the-bundled-model")
    return url


def how_mixing_works_html() -> str:
    url = readme_figures_url()
    figures = (
        f'<a href="{url.toString()}">the README\'s figures</a>'
        if url is not None
        else "the figures in the project's README"
    )
    return f"""
<h3>How mixing works</h3>
<p>The model has learned to draw a bird picture in three layers: a <b>background</b>, then
the bird's <b>shape</b> (its outline, in some <b>pose</b>), then its <b>texture</b> (colours
and markings) painted inside that outline. Each layer is driven by one code, and the model can
read each code from any picture. Mixing takes each code from a different picture:</p>
<table cellpadding="3">
<tr><td><b>Background</b></td><td>the scene behind the bird (code <i>b</i>)</td></tr>
<tr><td><b>Pose</b></td><td>where the bird is, how big, which way it faces (code <i>z</i>)</td></tr>
<tr><td><b>Shape</b></td><td>the kind of body: its outline (code <i>p</i>)</td></tr>
<tr><td><b>Texture</b></td><td>the colours and markings (code <i>c</i>)</td></tr>
</table>
<h4>Two modes</h4>
<p><b>Code mode</b> takes all four from their own slots. Shape and texture are reduced to one
of a few learned types, so the result is clean but loses detail.</p>
<p><b>Feature mode</b> takes pose and shape together from the Shape picture through a richer
feature map, so the outline follows that picture closely; the Pose slot is not used.</p>
<h4>Tips</h4>
<p>Draw a box around the bird in a slot to tell the model where it is. Each slot's list shows
the types the model found most likely; pick one, or press R to roll a random one. The Layers
column shows the background, shape and texture stages separately.</p>
<p>A model only knows pictures like the ones it was trained on: the bundled model has seen only
SynthBirds renders, so real photos come out poorly. See {figures}.</p>
"""


class HowMixingWorksDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("How Mixing Works")
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(how_mixing_works_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(560, 560)
