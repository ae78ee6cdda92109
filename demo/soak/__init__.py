"""``make soak``: a simulated week of EMR and transform ticks under routine AWS faults, on the offline twin.

:mod:`demo.soak.world` the landing data and what is wrong with it, :mod:`demo.soak.faults` the faults
and where they are injected, :mod:`demo.soak.steps` the runners behind the ``.sync`` tasks,
:mod:`demo.soak.play` the clock of ticks, :mod:`demo.soak.tally` the final table.
"""
