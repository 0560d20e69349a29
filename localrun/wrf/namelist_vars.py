"""Known namelist.input variables per group, for spotting typos before WRF does.

Names and entry counts come from WRF's Registry (`rconfig ... namelist,<group> <count>` lines of
Registry.EM_COMMON, registry.io_boilerplate, registry.hyb_coord, registry.diags, registry.stoch)
plus &namelist_quilt, which frame/module_io_quilt.F reads itself. Each group has three lists:

* SCALAR: one value (`<count>` 1);
* PER_DOMAIN: one value per domain (`<count>` max_domains);
* OTHER: arrays of another size, the auxinput/auxhist families, and names added from newer WRF
  versions whose count is not certain. These are only checked for spelling, never for length.
"""

from __future__ import annotations

from collections.abc import Mapping

_DATE = ("year", "month", "day", "hour", "minute", "second")
_YDHMS = ("y", "d", "h", "m", "s")


def _timed(prefix: str, units: tuple[str, ...] = _YDHMS, bare: bool = True) -> str:
    names = [f"{prefix}_{u}" for u in units]
    return " ".join(([prefix] if bare else []) + names)


def _aux_streams() -> str:
    names: list[str] = []
    for n in range(1, 25):
        for kind in ("auxinput", "auxhist"):
            stream = f"{kind}{n}"
            names += [f"{stream}_inname", f"{stream}_outname", f"io_form_{stream}"]
            names += [f"frames_per_{stream}"]
            for part in ("interval", "begin", "end"):
                names += _timed(f"{stream}_{part}").split()
    return " ".join(names)


SCALAR: dict[str, str] = {
    "time_control": """
        run_days run_hours run_minutes run_seconds interval_seconds rsmas_data_path all_ic_times
        input_inname input_outname bdy_inname bdy_outname rst_inname rst_outname write_input
        write_restart_at_0h write_hist_at_0h_rst adjust_output_times adjust_input_times diag_print
        nocolons cycling output_diagnostics nwp_diagnostics output_ready_flag force_use_old_data
        restart restart_interval io_form_input io_form_history io_form_restart io_form_boundary
        debug_level self_test_domain history_outname history_inname reset_simulation_start
        ignore_iofields_warning
        """
    + _timed("restart_interval", bare=False)
    + " "
    + _timed("restart_begin"),
    "domains": """
        time_step time_step_fract_num time_step_fract_den time_step_dfi reasonable_time_step_ratio
        step_to_output_time adaptation_domain use_adaptive_time_step use_adaptive_time_step_dfi
        max_dom lats_to_mic num_metgrid_levels num_metgrid_soil_levels p_top_requested interp_theta
        interp_type rebalance vert_refine_fact extrap_type t_extrap_type hypsometric_opt
        lowest_lev_from_sfc use_levels_below_ground use_tavg_for_tsk use_surface lagrange_order
        linear_interp force_sfc_in_vinterp zap_close_levels maxw_horiz_pres_diff
        trop_horiz_pres_diff maxw_above_this_level use_maxw_level use_trop_level sfcp_to_sfcp
        adjust_heights smooth_cg_topo nest_interp_coord interp_method_type aggregate_lu
        rh2qv_wrt_liquid rh2qv_method qv_max_p_safe qv_max_flag qv_max_value qv_min_p_safe
        qv_min_flag qv_min_value ideal_init_method feedback smooth_option blend_width tile_sz_x
        tile_sz_y numtiles numtiles_inc numtiles_x numtiles_y tile_strategy nproc_x nproc_y irand
        num_moves ts_buf_size max_ts_locs tslist_unstagger_winds track_level reorder_mesh
        perturb_input auto_levels_opt max_dz dzbot dzstretch_s dzstretch_u ocean_levels num_traj
        max_ts_level track_loc_in num_ext_model_couple_dom
        """,
    "physics": """
        physics_suite force_read_thompson write_thompson_tables path_to_files gsfcgce_hail
        gsfcgce_2ice accum_mode aitken_mode coarse_mode do_radar_ref ysu_topdown_pblmix
        bl_mynn_cloudpdf bl_mynn_mixlength icloud_bl kfeta_trigger nsas_dx_factor isfflx ifsnow
        icloud cldovrlp ideal_xland swrad_scat surface_input_source num_soil_layers maxpatch
        num_snow_layers num_snso_layers num_urban_hi num_months sf_surface_mosaic mosaic_cat
        mosaic_lu mosaic_soil flag_sm_adj maxiens maxens maxens2 maxens3 ensdim cugd_avedx
        clos_choice imomentum ishallow convtrans_avglen_m num_land_cat num_soil_cat mp_zero_out
        mp_zero_out_thresh seaice_threshold sst_update sst_skin tmn_update usemonalb rdmaxalb
        rdlai2d ua_phys opt_thcnd co2tf ra_call_offset cam_abs_freq_s levsiz paerlev cam_abs_dim1
        cam_abs_dim2 lagday no_src_types alevsiz o3input aer_opt swint_opt dust_emis erosion_dim
        no_src_types_cu alevsiz_cu aercu_opt aercu_fct omlcall sf_ocean_physics traj_opt
        tracercall omdt oml_hml0 oml_gamma oml_relaxation_time isftcflx iz0tlnd shadlen
        no_mp_heating fractional_seaice seaice_snowdepth_opt seaice_snowdepth_max
        seaice_snowdepth_min seaice_albedo_opt seaice_albedo_default seaice_thickness_opt
        seaice_thickness_default tice2tsk_if2cold bucket_mm bucket_j mp_tend_lim use_aero_icbc
        use_rap_aero_icbc use_mp_re ccn_conc hail_opt morr_rimed_ice clean_atm_diag windfarm_ij
        nens
        """,
    "noah_mp": """
        dveg opt_crs opt_btr opt_run opt_sfc opt_frz opt_inf opt_rad opt_alb opt_snf opt_tbot
        opt_stc opt_gla opt_rsf opt_soil opt_pedo opt_crop
        """,
    "fdda": """
        ktrop dtramp_min if_ramping max_obs obs_sfc_scheme_horiz obs_sfc_scheme_vert
        obs_max_sndng_gap obs_nudgezfullmin obs_nudgezrampmin obs_nudgezmax obs_sfcfact
        obs_sfcfacr obs_dpsmx obs_rinsig obs_npfi obs_idynin obs_dtramp obs_prt_max obs_ipf_in4dob
        obs_ipf_errob obs_ipf_nudob obs_ipf_init obs_scl_neg_qv_innov sgfdda_inname gfdda_inname
        io_form_sgfdda io_form_gfdda
        """
    + " ".join(
        f"obs_nudgez{kind}r{regime}_{var}"
        for kind in ("full", "ramp")
        for regime in (1, 2, 4)
        for var in ("uv", "t", "q")
    ),
    "dynamics": """
        dyn_opt rk_ord w_damping damp_opt rad_nudge max_rot_angle_gwd use_theta_m
        use_q_diabatic use_input_w base_pres base_temp base_lapse iso_temp base_pres_strat
        base_lapse_strat use_baseparam_fr_nml fft_filter_lat coupled_filtering pos_def
        swap_pole_with_next_j actual_distance_average rotated_pole hybrid_opt etac
        """,
    "bdy_control": """
        spec_bdy_width spec_zone relax_zone constant_bc spec_exp spec_bdy_final_mu
        real_data_init_type multi_bdy_files
        """,
    "grib2": "background_proc_id forecast_proc_id production_status compression",
    "diags": """
        p_lev_diags p_lev_diags_dfi num_press_levels use_tot_or_hyd_p extrap_below_grnd
        p_lev_missing z_lev_diags z_lev_diags_dfi num_z_levels z_lev_missing
        """,
    "dfi_control": "dfi_opt dfi_savehydmeteors dfi_nfilter dfi_write_filtered_input "
    "dfi_write_dfi_history dfi_cutoff_seconds dfi_time_dim "
    + " ".join(f"dfi_{stop}_{part}" for stop in ("fwdstop", "bckstop") for part in _DATE),
    "tc": "insert_bogus_storm remove_storm num_storm rankine_lid",
    "scm": """
        scm_force scm_force_dx num_force_layers scm_lu_index scm_isltyp scm_vegfra scm_canwat
        scm_lat scm_lon scm_th_t_tend scm_qv_t_tend scm_th_adv scm_wind_adv scm_qv_adv scm_ql_adv
        scm_vert_adv num_force_soil_layers scm_soilt_force scm_soilq_force
        scm_force_th_largescale scm_force_qv_largescale scm_force_ql_largescale
        scm_force_wind_largescale scm_force_skintemp scm_force_flux
        """,
    "ideal": "ideal_case",
    "pio_control": "usepio pioprocs piostart piostride pioshift",
    "namelist_quilt": "",
}

PER_DOMAIN: dict[str, str] = {
    "time_control": " ".join(f"{w}_{p}" for w in ("start", "end") for p in _DATE)
    + """
        input_from_file fine_input_stream input_from_hires julyr julday gmt history_interval
        frames_per_outfile iofields_filename
        """
    + " ".join(
        _timed(name)
        for name in (
            "history_interval",
            "inputout_interval",
            "history_begin",
            "inputout_begin",
            "history_end",
        )
    )
    + " "
    + _timed("inputout_end", bare=False),
    "domains": """
        min_time_step min_time_step_den max_time_step max_time_step_den target_cfl target_hcfl
        max_step_increase_pct starting_time_step starting_time_step_den s_we e_we s_sn e_sn s_vert
        e_vert vert_refine_method dx dy grid_id grid_allowed parent_id i_parent_start
        j_parent_start parent_grid_ratio parent_time_step_ratio ztop moad_grid_ratio
        moad_time_step_ratio shw vortex_interval max_vortex_speed corral_dist time_to_move swap_x
        swap_y cycle_x cycle_y sr_x sr_y
        """,
    "physics": """
        mp_physics nssl_cccn nssl_alphah nssl_alphahl nssl_cnoh nssl_cnohl nssl_cnor nssl_cnos
        nssl_rho_qh nssl_rho_qhl nssl_rho_qs nudge_lightning nudge_light_times nudge_light_timee
        nudge_light_int progn ra_lw_physics ra_sw_physics radt naer sf_sfclay_physics
        sf_surface_physics bl_pbl_physics bl_mynn_tkebudget shinhong_tke_diag bl_mynn_tkeadvect
        bl_mynn_edmf bl_mynn_edmf_mom bl_mynn_edmf_tke bl_mynn_mixscalars bl_mynn_output
        bl_mynn_cloudmix bl_mynn_mixqt mfshconv sf_urban_physics bldt cu_physics shcu_physics
        cu_diag kf_edrates cudt gsmdt bmj_rad_feedback aer_type aer_aod550_opt aer_angexp_opt
        aer_ssa_opt aer_asy_opt aer_aod550_val aer_angexp_val aer_ssa_val aer_asy_val
        cu_rad_feedback shallowcu_forced_ra numbins thbinsize rbinsize mindeepfreq minshallowfreq
        shcu_aerosols_opt pxlsm_smois_init pxlsm_modis_veg dm_has_traj slope_rad topo_shading
        topo_wind prec_acc_dt grav_settling sas_pgcon scalar_pblmix tracer_pblmix wtddt
        windfarm_opt stoch_force_opt stoch_vertstruc_opt tot_backscat_psi tot_backscat_t
        """,
    "fdda": """
        fgdt fgdtzero grid_fdda grid_sfdda if_no_pbl_nudging_uv if_no_pbl_nudging_t
        if_no_pbl_nudging_ph if_no_pbl_nudging_q if_zfac_uv k_zfac_uv if_zfac_t k_zfac_t
        if_zfac_ph k_zfac_ph if_zfac_q k_zfac_q dk_zfac_uv dk_zfac_t dk_zfac_ph dk_zfac_q guv
        guv_sfc gt gt_sfc gq gq_sfc gph rinblw xwavenum ywavenum pxlsm_soil_nudge obs_nudge_opt
        fdda_start fdda_end obs_nudge_wind obs_coef_wind obs_nudge_temp obs_coef_temp
        obs_nudge_mois obs_coef_mois obs_nudge_pstr obs_coef_pstr obs_no_pbl_nudge_uv
        obs_no_pbl_nudge_t obs_no_pbl_nudge_q obs_rinxy obs_twindo obs_ionf obs_prt_freq
        """
    + " ".join(
        _timed(f"{kind}_{part}", bare=part != "end")
        for kind in ("sgfdda", "gfdda")
        for part in ("interval", "begin", "end")
    ),
    "dynamics": """
        diff_opt diff_opt_dfi km_opt km_opt_dfi zdamp dampcoef khdif kvdif diff_6th_factor
        diff_6th_opt diff_6th_slopeopt diff_6th_thresh c_s c_k smdiv emdiv epssm non_hydrostatic
        time_step_sound h_mom_adv_order v_mom_adv_order h_sca_adv_order v_sca_adv_order
        momentum_adv_opt moist_adv_opt moist_adv_dfi_opt chem_adv_opt tracer_adv_opt
        scalar_adv_opt tke_adv_opt moist_mix2_off chem_mix2_off tracer_mix2_off scalar_mix2_off
        tke_mix2_off moist_mix6_off chem_mix6_off tracer_mix6_off scalar_mix6_off tke_mix6_off
        top_radiation mix_isotropic mix_upper_bound top_lid tke_upper_bound tke_drag_coefficient
        tke_heat_flux pert_coriolis coriolis2d mix_full_fields do_coriolis do_curvature do_gradp
        tracer_opt tenddiag
        """,
    "bdy_control": """
        specified periodic_x symmetric_xs symmetric_xe open_xs open_xe periodic_y symmetric_ys
        symmetric_ye open_ys open_ye polar nested have_bcs_moist have_bcs_scalar
        """,
}

OTHER: dict[str, str] = {
    "time_control": "use_netcdf_classic override_restart_timers auxinput1_inname "
    "io_form_auxinput1 " + _aux_streams(),
    "domains": "move_id move_interval move_cd_x move_cd_y eta_levels ocean_z ocean_t ocean_s "
    "wif_input_opt num_wif_levels",
    "physics": """
        sf_lake_physics lakedepth_default lake_min_elev use_lakedepth lightning_option
        lightning_dt lightning_start_seconds flashrate_factor cellcount_method cldtop_adjustment
        iccg_method iccg_prescribed_num iccg_prescribed_den hailcast_opt haildt use_wudapt_lcz
        slucm_distributed_drag idcor gwd_opt gwd_diags bl_mynn_closure ra_sw_eclipse ghg_input
        num_urban_layers
        """,
    "noah_mp": "opt_irr opt_irrm opt_infdv opt_tdrn",
    "dynamics": "gwd_opt zadvect_implicit w_crit_cfl do_avgflx_em do_avgflx_cugd sfs_opt m_opt "
    "phi_adv_z",
    "diags": "press_levels z_levels solar_diagnostics",
    "tc": "latc_loc lonc_loc vmax_meters_per_second rmax vmax_ratio",
    "namelist_quilt": "nio_tasks_per_group nio_groups poll_servers",
}

# Groups wrf.exe reads that this module does not list variables for: not checked.
UNCHECKED_GROUPS = frozenset(
    {"stoch", "fire", "chem", "afwa", "hydro", "lightning", "wrfvar", "swarm", "cordex"}
)

# Where WRF sets a nest's value itself (dx, dy from the parent ratio; nests' boundaries are
# always `nested`), so one value for all domains is normal.
LENGTH_EXEMPT: Mapping[str, frozenset[str]] = {
    "domains": frozenset({"dx", "dy"}),
    "bdy_control": frozenset(PER_DOMAIN["bdy_control"].split()),
}

# Scalars whose count is stable across WRF 4.x; more than one value is a read error in WRF.
# (Physics and dynamics scalars have become per-domain in some releases, so they are left out.)
STRICT_SCALAR_GROUPS = frozenset({"time_control", "domains"})


def _split(table: Mapping[str, str]) -> dict[str, frozenset[str]]:
    return {group: frozenset(names.split()) for group, names in table.items()}


SCALARS = _split(SCALAR)
PER_DOMAINS = _split(PER_DOMAIN)
OTHERS = _split(OTHER)
CHECKED_GROUPS = frozenset(SCALARS) | frozenset(PER_DOMAINS) | frozenset(OTHERS)


def known(group: str) -> frozenset[str]:
    """Every variable name known for a group (empty for a group this module does not check)."""
    empty: frozenset[str] = frozenset()
    return SCALARS.get(group, empty) | PER_DOMAINS.get(group, empty) | OTHERS.get(group, empty)
