"""Data shipped with MixNMatch Studio: the bundled model, icons, examples and the oracle.

Installed as the package ``mixnmatch_resources``; ``engine.resources`` finds this folder both in
a checkout and in an installed wheel.
"""
