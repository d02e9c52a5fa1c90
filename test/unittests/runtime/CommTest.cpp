//===- CommTest.cpp - smx_runtime/comm.h on one process or many -----------===//
//
// Runs as one process (the single backend) and under `mpirun -np N` (the
// MPI backend): every process runs every test, and each checks what it
// received against what the others must have sent.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/comm.h"
#include "smx_runtime/grid.h"
#include "smx_runtime/memref_abi.h"
#include "smx_runtime/tensor.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

extern "C" smxrt_status_t smxrt_test_open_backend_number(int backend,
                                                         smxrt_comm_t *out);

namespace {

class Comm : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    smxrt_status_t status = smxrt_comm_open(SMXRT_COMM_AUTO, 60.0, &comm);
    ASSERT_EQ(status, nullptr) << smxrt_status_message(status);
  }
  static void TearDownTestSuite() { smxrt_comm_close(comm); }

  static smxrt_comm_t comm;
};
smxrt_comm_t Comm::comm = nullptr;

void expectOk(smxrt_status_t status) {
  EXPECT_EQ(status, nullptr) << smxrt_status_message(status);
  smxrt_status_free(status);
}

TEST_F(Comm, BackendMatchesTheLaunch) {
  int64_t size = smxrt_comm_size(comm);
  EXPECT_GE(size, 1);
  EXPECT_GE(smxrt_comm_rank(comm), 0);
  EXPECT_LT(smxrt_comm_rank(comm), size);
  EXPECT_STREQ(smxrt_comm_backend_name(comm), size > 1 ? "mpi" : "single");
}

TEST_F(Comm, AllReduceSumsEveryElement) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  // Element i of rank r is r + i / 4: small integers and quarters, exact in
  // f32, so the sum is exact whatever the order.
  std::vector<float> data(1003);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<float>(rank) + static_cast<float>(i) / 4;
  expectOk(smxrt_comm_all_reduce_sum_f32(comm, data.data(),
                                         static_cast<int64_t>(data.size())));
  for (size_t i = 0; i < data.size(); ++i)
    ASSERT_EQ(data[i], static_cast<float>(size * (size - 1) / 2) +
                           static_cast<float>(size) * static_cast<float>(i) /
                               4)
        << "element " << i;
  expectOk(smxrt_comm_all_reduce_sum_f32(comm, nullptr, 0));
}

TEST_F(Comm, AllReduceSumsIntegers) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  // Beyond f32's exact integers: an i64 sum must not go through floats.
  std::vector<int64_t> data = {(int64_t{1} << 40) + rank, -rank, 7};
  expectOk(smxrt_comm_all_reduce_sum_i64(comm, data.data(), 3));
  EXPECT_EQ(data[0], size * (int64_t{1} << 40) + size * (size - 1) / 2);
  EXPECT_EQ(data[1], -size * (size - 1) / 2);
  EXPECT_EQ(data[2], 7 * size);
}

TEST_F(Comm, SplitGroupsByColorAndRanksByKey) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  // Even and odd ranks, ranked in reverse.
  smxrt_comm_t half = nullptr;
  expectOk(smxrt_comm_split(comm, rank % 2, size - rank, &half));
  ASSERT_NE(half, nullptr);
  int64_t members = (size - rank % 2 + 1) / 2;
  EXPECT_EQ(smxrt_comm_size(half), members);
  EXPECT_EQ(smxrt_comm_rank(half), members - 1 - rank / 2);
  float value = static_cast<float>(rank);
  expectOk(smxrt_comm_all_reduce_sum_f32(half, &value, 1));
  float expected = 0;
  for (int64_t other = rank % 2; other < size; other += 2)
    expected += static_cast<float>(other);
  EXPECT_EQ(value, expected);
  smxrt_comm_close(half);
}

/// A contiguous memref descriptor of rank 1, as compiled code passes it.
template <typename T> struct Descriptor1D {
  T *allocated, *aligned;
  int64_t offset, size, stride;
};

TEST_F(Comm, GridCollectivesRunOverTheirAxes) {
  int64_t size = smxrt_comm_size(comm);
  // dp x ep: size x 1 and, on an even job, (size / 2) x 2.
  for (int64_t ep : {int64_t{1}, int64_t{2}}) {
    if (size % ep)
      continue;
    int64_t shape[] = {size / ep, ep};
    smxrt_grid_t grid = nullptr;
    expectOk(smxrt_grid_create(comm, shape, 2, &grid));
    ASSERT_NE(grid, nullptr);
    int64_t rank = smxrt_grid_rank(grid);
    EXPECT_EQ(smxrt_grid_axis_index(grid, 0), rank / ep);
    EXPECT_EQ(smxrt_grid_axis_index(grid, 1), rank % ep);
    smxrt_grid_install(grid);
    EXPECT_EQ(smxrt_grid_process_index(), rank);
    // Over dp (mask 1): the ranks of this ep index; over ep (mask 2): the
    // ranks of this dp index; over both: every rank.
    for (int64_t mask : {int64_t{1}, int64_t{2}, int64_t{3}}) {
      std::vector<int64_t> input = {rank, 1}, result(2, -1);
      Descriptor1D<int64_t> in{input.data(), input.data(), 0, 2, 1};
      Descriptor1D<int64_t> out{result.data(), result.data(), 0, 2, 1};
      smxrt_grid_all_reduce_sum_i64_memref(mask, 1, &in, 1, &out);
      int64_t expectedSum = 0, expectedCount = 0;
      for (int64_t other = 0; other < size; ++other) {
        bool sameDp = other / ep == rank / ep, sameEp = other % ep == rank % ep;
        bool member = mask == 3 || (mask == 1 && sameEp) || (mask == 2 && sameDp);
        expectedSum += member ? other : 0;
        expectedCount += member ? 1 : 0;
      }
      EXPECT_EQ(result[0], expectedSum) << "mask " << mask << ", ep " << ep;
      EXPECT_EQ(result[1], expectedCount) << "mask " << mask << ", ep " << ep;
    }
    smxrt_grid_destroy(grid);
    EXPECT_EQ(smxrt_grid_installed(), nullptr);
  }
}

/// A contiguous memref descriptor of rank 4.
struct Descriptor4D {
  float *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];

  Descriptor4D(std::vector<float> &data, std::array<int64_t, 4> shape)
      : allocated(data.data()), aligned(data.data()), offset(0) {
    int64_t stride = 1;
    for (int dim = 3; dim >= 0; --dim) {
      sizes[dim] = shape[dim];
      strides[dim] = stride;
      stride *= shape[dim];
    }
  }
};

TEST_F(Comm, GridAllToAllExchangesExpertSlots) {
  int64_t size = smxrt_comm_size(comm);
  for (int64_t ep : {int64_t{1}, int64_t{2}}) {
    if (size % ep)
      continue;
    int64_t shape[] = {size / ep, ep};
    smxrt_grid_t grid = nullptr;
    expectOk(smxrt_grid_create(comm, shape, 2, &grid));
    ASSERT_NE(grid, nullptr);
    smxrt_grid_install(grid);
    int64_t rank = smxrt_grid_rank(grid);
    int64_t row = rank / ep, column = rank % ep;
    // Dispatch: [G, E, C, d] with experts split over ep -> [ep·G, E/ep, C, d].
    constexpr int64_t G = 2, C = 3, D = 2;
    const int64_t E = 2 * ep, localE = E / ep;
    auto value = [](int64_t process, int64_t g, int64_t e, int64_t c,
                    int64_t k) {
      return static_cast<float>(10000 * process + 1000 * g + 100 * e +
                                10 * c + k);
    };
    std::vector<float> slots(G * E * C * D), received(G * E * C * D, -1),
        returned(G * E * C * D, -1);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t e = 0; e < E; ++e)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t k = 0; k < D; ++k)
            slots[((g * E + e) * C + c) * D + k] = value(rank, g, e, c, k);
    Descriptor4D in(slots, {G, E, C, D});
    Descriptor4D out(received, {ep * G, localE, C, D});
    smxrt_grid_all_to_all_f32_memref(/*axes_mask=*/2, /*split_axis=*/1,
                                     /*concat_axis=*/0, 4, &in, 4, &out);
    // Block i along the groups came from the process at ep index i of this
    // row, and holds this process's experts.
    for (int64_t i = 0; i < ep; ++i)
      for (int64_t g = 0; g < G; ++g)
        for (int64_t e = 0; e < localE; ++e)
          for (int64_t c = 0; c < C; ++c)
            for (int64_t k = 0; k < D; ++k)
              ASSERT_EQ(received[(((i * G + g) * localE + e) * C + c) * D + k],
                        value(row * ep + i, g, column * localE + e, c, k))
                  << "ep " << ep << ", from " << i << ", group " << g
                  << ", expert " << e;
    // The return exchange is the inverse.
    Descriptor4D back(returned, {G, E, C, D});
    smxrt_grid_all_to_all_f32_memref(2, /*split_axis=*/0, /*concat_axis=*/1,
                                     4, &out, 4, &back);
    EXPECT_EQ(returned, slots) << "ep " << ep;
    smxrt_grid_destroy(grid);
  }
}

TEST_F(Comm, AllGatherCollectsInRankOrder) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  int64_t send[2] = {rank, -rank};
  std::vector<int64_t> recv(2 * size, 99);
  expectOk(smxrt_comm_all_gather(comm, send, recv.data(), sizeof(send)));
  for (int64_t from = 0; from < size; ++from) {
    EXPECT_EQ(recv[2 * from], from);
    EXPECT_EQ(recv[2 * from + 1], -from);
  }
}

TEST_F(Comm, StartedAllReduceSumsWhileOtherCollectivesRun) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  std::vector<float> first(1000), second(3);
  for (size_t i = 0; i < first.size(); ++i)
    first[i] = static_cast<float>(rank + i);
  for (size_t i = 0; i < second.size(); ++i)
    second[i] = static_cast<float>(10 * rank + i);
  smxrt_comm_request_t a = nullptr, b = nullptr;
  expectOk(smxrt_comm_all_reduce_sum_start(comm, first.data(), 1000,
                                           SMXRT_DTYPE_F32, &a));
  expectOk(smxrt_comm_all_reduce_sum_start(comm, second.data(), 3,
                                           SMXRT_DTYPE_F32, &b));
  // A blocking collective between the start and the wait.
  int64_t mine = rank, all = 0;
  expectOk(smxrt_comm_all_reduce_sum_i64(comm, &mine, 1));
  all = mine;
  int done = 0;
  expectOk(smxrt_comm_test(a, &done));
  expectOk(smxrt_comm_wait(b));
  expectOk(smxrt_comm_wait(a));
  float ranks = static_cast<float>(size * (size - 1) / 2);
  EXPECT_EQ(all, size * (size - 1) / 2);
  for (size_t i = 0; i < first.size(); ++i)
    ASSERT_EQ(first[i], ranks + static_cast<float>(size * i)) << i;
  for (size_t i = 0; i < second.size(); ++i)
    EXPECT_EQ(second[i], 10 * ranks + static_cast<float>(size * i));
}

TEST_F(Comm, GridStartedSumsAdvanceAndWait) {
  int64_t size = smxrt_comm_size(comm);
  int64_t shape[] = {size, 1};
  smxrt_grid_t grid = nullptr;
  expectOk(smxrt_grid_create(comm, shape, 2, &grid));
  ASSERT_NE(grid, nullptr);
  smxrt_grid_install(grid);
  int64_t rank = smxrt_grid_rank(grid);
  std::vector<float> input = {static_cast<float>(rank), 1.0f}, result(2, -1);
  Descriptor1D<float> in{input.data(), input.data(), 0, 2, 1};
  Descriptor1D<float> out{result.data(), result.data(), 0, 2, 1};
  int64_t handle = smxrt_grid_all_reduce_sum_start_f32_memref(1, 1, &in);
  input = {-7.0f, -7.0f}; // The runtime summed a copy.
  smxrt_grid_progress();
  smxrt_grid_all_reduce_sum_wait_f32_memref(handle, 1, &out);
  EXPECT_EQ(result[0], static_cast<float>(size * (size - 1) / 2));
  EXPECT_EQ(result[1], static_cast<float>(size));
  smxrt_grid_collective_stats_t allReduce;
  smxrt_grid_stats(grid, &allReduce, nullptr);
  EXPECT_EQ(allReduce.calls, 1);
  EXPECT_EQ(allReduce.bytes, 8);
  smxrt_grid_destroy(grid);
}

TEST_F(Comm, GridOfTheWrongSizeSaysSo) {
  int64_t shape[] = {smxrt_comm_size(comm) + 1, 1};
  smxrt_grid_t grid = nullptr;
  smxrt_status_t status = smxrt_grid_create(comm, shape, 2, &grid);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(grid, nullptr);
  EXPECT_NE(std::string(smxrt_status_message(status)).find("compiled for a grid of"),
            std::string::npos)
      << smxrt_status_message(status);
  smxrt_status_free(status);
}

TEST_F(Comm, AllToAllSendsBlockRToRankR) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  constexpr int64_t kPerRank = 5;
  std::vector<int32_t> send(size * kPerRank), recv(size * kPerRank, -1);
  for (int64_t to = 0; to < size; ++to)
    for (int64_t i = 0; i < kPerRank; ++i)
      send[to * kPerRank + i] = static_cast<int32_t>(1000 * rank + 10 * to + i);
  expectOk(smxrt_comm_all_to_all(comm, send.data(), recv.data(),
                                 kPerRank * sizeof(int32_t)));
  for (int64_t from = 0; from < size; ++from)
    for (int64_t i = 0; i < kPerRank; ++i)
      EXPECT_EQ(recv[from * kPerRank + i], 1000 * from + 10 * rank + i);
}

TEST_F(Comm, BroadcastFromEveryRoot) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  for (int64_t root = 0; root < size; ++root) {
    std::vector<int64_t> data(7, rank == root ? 42 + root : -1);
    expectOk(smxrt_comm_broadcast(comm, data.data(),
                                  data.size() * sizeof(int64_t), root));
    for (int64_t value : data)
      EXPECT_EQ(value, 42 + root);
  }
}

TEST_F(Comm, AgreeAcceptsEqualValues) {
  expectOk(smxrt_comm_agree(comm, "the spec hash", "sha256:0123abcd"));
}

TEST_F(Comm, AgreeNamesTheRankThatDiffers) {
  int64_t rank = smxrt_comm_rank(comm), size = smxrt_comm_size(comm);
  std::string value = rank == size - 1 ? "grid dp=1,ep=2" : "grid dp=2,ep=1";
  smxrt_status_t status = smxrt_comm_agree(comm, "the grid", value.c_str());
  if (size == 1) {
    expectOk(status);
    return;
  }
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(smxrt_status_message(status)),
            "the processes of this job disagree on the grid: rank 0 has "
            "'grid dp=2,ep=1', rank " +
                std::to_string(size - 1) + " has 'grid dp=1,ep=2'");
  smxrt_status_free(status);
}

TEST(CommOpen, RejectsBadArguments) {
  smxrt_comm_t comm = nullptr;
  smxrt_status_t status = smxrt_comm_open(SMXRT_COMM_SINGLE, 0.0, &comm);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(std::string(smxrt_status_message(status)),
            "smxrt_comm_open: the collective timeout must be positive, got "
            "0 s");
  smxrt_status_free(status);
  // As a C caller could pass it: an int that names no backend.
  status = smxrt_test_open_backend_number(42, &comm);
  ASSERT_NE(status, nullptr);
  EXPECT_STREQ(smxrt_status_message(status),
               "smxrt_comm_open: unknown backend 42");
  smxrt_status_free(status);
}

// Without a GPU (here and in CI) the NCCL backend must say so in one
// message; with one, its collectives are checked on the device by the GPU
// script (bench/gpu).
TEST(CommOpen, NcclWithoutDeviceSaysSo) {
  smxrt_comm_t comm = nullptr;
  smxrt_status_t status = smxrt_comm_open(SMXRT_COMM_NCCL, 10.0, &comm);
  if (!status) {
    smxrt_comm_close(comm);
    GTEST_SKIP() << "a CUDA device is present";
  }
  std::string message = smxrt_status_message(status);
  smxrt_status_free(status);
  if (message.find("cannot load the communication backend "
                   "libsmx_comm_nccl.so") != std::string::npos)
    GTEST_SKIP() << "built without NCCL";
  EXPECT_EQ(message.rfind("opening the nccl communicator: no CUDA device: ",
                          0),
            0u)
      << message;
}

} // namespace
