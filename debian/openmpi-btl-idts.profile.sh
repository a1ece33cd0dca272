# SPDX-License-Identifier: BSD-3-Clause
# Copyright (c) 2026, the idts authors
#
# openmpi-btl-idts (Open MPI 5): let mpirun's processes find the components
# in Open MPI's own directory, idts among them.
#
# libpmix2t64's parameter file (pmix2/share/pmix-mca-params.conf) sets
# mca_base_component_path for PMIx, and mpirun (PRRTE) hands that value to
# every MPI process as OMPI_MCA_mca_base_component_path, where it replaces
# Open MPI's default: Open MPI then looks in PMIx's plugin directory only.
# Naming Open MPI's default here puts it back (an environment variable
# set by mpirun's caller is passed on and wins); PMIx keeps its own path,
# which it always searches, instead of taking Open MPI's. A value set
# before this (by the user, a module file) is left as it is.
if [ -z "${OMPI_MCA_mca_base_component_path+set}" ]; then
    OMPI_MCA_mca_base_component_path=SYS_DEFAULT:USER_DEFAULT
    PMIX_MCA_mca_base_component_path=${PMIX_MCA_mca_base_component_path-}
    export OMPI_MCA_mca_base_component_path PMIX_MCA_mca_base_component_path
fi
