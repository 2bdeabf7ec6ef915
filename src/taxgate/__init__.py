"""taxgate: a disclosure gateway for address-verification requests under 26 U.S.C. 6103(i)(2).

Data flows through one package per stage: formats -> gate -> normalize -> match -> decide ->
disclose, with every step accounted for in ledger; world makes the synthetic data to test it.
"""

__version__ = "0.1.0"
