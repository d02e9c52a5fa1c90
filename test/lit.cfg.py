# -*- Python -*-
# lit configuration of the smx test suite.

import os
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SMX"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.smx_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "README.md",
                   "unittests", "Inputs"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%smx_src_root", config.smx_src_root))
config.substitutions.append(("%smx_obj_root", config.smx_obj_root))
config.substitutions.append(("%python", config.python_executable))

# The PyTorch reference (test/reference/torch_train_step.py) needs Debian's
# python3-torch, which scripts/setup.sh installs.
if subprocess.run([config.python_executable, "-c", "import torch"],
                  stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL).returncode == 0:
    config.available_features.add("torch")

# Multi-process runs need Open MPI's launcher and the runtime's MPI backend;
# %mpirun lets root start them and more ranks than cores (CI's 2 cores).
import shutil
mpirun = shutil.which("mpirun")
if mpirun and os.path.exists(os.path.join(config.smx_obj_root, "lib",
                                          "libsmx_comm_mpi.so")):
    config.available_features.add("mpi")
    config.substitutions.append(
        ("%mpirun", "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
                    "OMPI_MCA_rmaps_base_oversubscribe=1 " + mpirun))

# The CUDA target compiles kernels with the toolkit's ptxas; its tests run
# where the build found the toolkit. None needs a GPU (docs/gpu.md).
ptxas = os.path.join(config.cuda_toolkit_bin_dir, "ptxas")
if config.smx_enable_cuda and os.access(ptxas, os.X_OK):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", ptxas))
    # A GPU with its driver: the tests that run kernels run.
    if os.path.exists("/dev/nvidiactl"):
        config.available_features.add("cuda-device")

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.smx_tools_dir, config.llvm_tools_dir]
tools = ["smx-opt", "smxc", "smx-gradcheck", "split-file", "not", "count"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
