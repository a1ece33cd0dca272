# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# What scripts need to know about the Open MPI release series whose mpirun
# is in PATH (source it). Open MPI 4.1's runtime is ORTE, 5.0's is PRRTE:
#   ompi_major      4 or 5
#   sm_btl          Open MPI's own shared-memory BTL: vader (4.1) or sm (5.0)
#   help_aggregate  the MCA variable that stops help messages from being
#                   merged: orte_base_help_aggregate (4.1), opal_... (5.0)
# and ompi_component_path DIR, which makes Open MPI look for components in
# DIR before its own directory, and ompi_tcp_local (below).
ompi_major=$(mpirun --version 2>/dev/null | sed -n '1s/^[^0-9]*\([0-9][0-9]*\)\..*/\1/p')
case ${ompi_major:=4} in
4) sm_btl=vader help_aggregate=orte_base_help_aggregate ;;
*) sm_btl=sm help_aggregate=opal_base_help_aggregate ;;
esac

# PRRTE (5.0) hands mca_base_component_path to PMIx as well, whose plugin
# loader then warns about every file in DIR that is not a PMIx plugin
# ("bad prefix"): PMIx keeps its own path, which its default always holds.
ompi_component_path() {
    export OMPI_MCA_mca_base_component_path="$1:SYS_DEFAULT"
    [ "$ompi_major" -lt 5 ] || export PMIX_MCA_mca_base_component_path=
}

# ompi_tcp_local: tcp between processes of one machine goes over the
# loopback device, which carries the traffic of the machine's own addresses
# anyway. Open MPI leaves lo out by default, and 5.0's reachability check
# (netlink) can find no pair among the other addresses (on a VM whose IPv6
# address has no route, for one): the benchmarks name lo.
ompi_tcp_local() {
    export OMPI_MCA_btl_tcp_if_include=lo
}
