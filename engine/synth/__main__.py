"""``python -m engine.synth --out DIR --count N``: generate a SynthBirds dataset."""

from .dataset import main

raise SystemExit(main())
