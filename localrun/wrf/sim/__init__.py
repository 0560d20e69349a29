"""The WRF simulator: a separate MPI program launched like wrf.exe (`mpiexec -np N`).

It shares only the namelist reader, the decomposition rules and the variable tables with the
daemon, and the daemon knows it only by its executable's name.
"""
