from localrun.wrf.sim.main import main

main()
