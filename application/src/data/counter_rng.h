//===- counter_rng.h - Random numbers keyed by counters ---------*- C++ -*-===//
//
// The data pipeline never carries a random state from one batch to the next:
// every random choice comes from a generator keyed by (seed, purpose, a, b),
// e.g. (seed, pre-training, step, row). A run resumed at step N therefore
// draws exactly what an uninterrupted run would, and rows of a batch can be
// computed in any order.
//
// The generator is SplitMix64 (Steele, Lea and Flood, 2014): a 64-bit state
// advanced by the golden-ratio increment and hashed by a bijective mixer.
// The starting state hashes the key with the same mixer, one word at a time,
// so nearby keys give unrelated streams. docs/data.md spells it out.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_COUNTER_RNG_H
#define SMX_RUNTIME_DATA_COUNTER_RNG_H

#include <cstdint>

namespace smxrt {
namespace data {

/// SplitMix64's output function: a bijection of 64-bit words.
inline uint64_t mix64(uint64_t value) {
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
  return value ^ (value >> 31);
}

/// What a stream is for, so that two uses of the same (seed, a, b) differ.
enum class RngPurpose : uint64_t {
  PretrainRow = 1,
  TrainShuffle = 2,
};

class CounterRng {
public:
  static constexpr uint64_t increment = 0x9E3779B97F4A7C15ull;

  CounterRng(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b) {
    uint64_t key = mix64(seed + increment);
    key = mix64(key ^ static_cast<uint64_t>(purpose));
    key = mix64(key ^ a);
    state = mix64(key ^ b);
  }

  /// The next 64 random bits.
  uint64_t next() {
    state += increment;
    return mix64(state);
  }

  /// Uniform in [0, bound) for bound >= 1, without modulo bias (Lemire's
  /// multiply-and-reject).
  uint64_t below(uint64_t bound) {
    unsigned __int128 product = static_cast<unsigned __int128>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(product);
    if (low < bound) {
      uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

private:
  uint64_t state;
};

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_COUNTER_RNG_H
