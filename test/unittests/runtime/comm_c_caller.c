/*===- comm_c_caller.c - smx_runtime/comm.h as a C program calls it -----===*
 *
 * C lets an enum parameter hold any int; CommTest.cpp calls this to pass a
 * backend number that names none (in C++ that load would be undefined).
 *
 *===----------------------------------------------------------------------===*/

#include "smx_runtime/comm.h"

smxrt_status_t smxrt_test_open_backend_number(int backend,
                                              smxrt_comm_t *out) {
  return smxrt_comm_open((smxrt_comm_backend_t)backend, 1.0, out);
}
