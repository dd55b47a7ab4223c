"""The synthetic-inbox generator behind ``clearinghouse generate`` (entry point: jobs.generate).

Modules, in the order a drop is made: ``catalog`` (reference data as code pools), ``people``
(the population and the registry), ``plan`` (hospitals, drops, dates, faults), ``slots`` (who,
when, where from), ``assign`` (which claim carries which fault), ``claims`` and ``items``
(diagnoses, stays, priced lines, charges), ``tables`` (the 16 text tables), ``faults`` (broken
rows, resent claims), ``writer`` (files, encodings, ZIPs) and ``produce`` (one drop at a time).
"""
