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

#ifndef SMX_APPLICATION_DATA_COUNTER_RNG_H
#define SMX_APPLICATION_DATA_COUNTER_RNG_H

#include <cstdint>

namespace smxrt {
namespace data {

/// SplitMix64's output function: a bijection of 64-bit words.
inline uint64_t mix64(uint64_t value) {
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
  return value ^ (value >> 31);
}

/// A SplitMix64 stream from a given state: the golden-ratio increment, then
/// the mixer. Parameter initialization seeds one per parameter; CounterRng
/// derives its state from a key.
class SplitMix64 {
public:
  static constexpr uint64_t increment = 0x9E3779B97F4A7C15ull;

  explicit SplitMix64(uint64_t state) : state(state) {}

  /// The next 64 random bits.
  uint64_t next() {
    state += increment;
    return mix64(state);
  }

  /// Advances the stream by `count` draws at once: the state is a counter,
  /// so a stream can be split into pieces that threads draw independently.
  void skip(uint64_t count) { state += count * increment; }

  /// Uniform on (0, 1], so that a logarithm never sees 0.
  double nextUniform() {
    return static_cast<double>((next() >> 11) + 1) * 0x1.0p-53;
  }

private:
  uint64_t state;
};

/// What a stream is for, so that two uses of the same (seed, a, b) differ.
enum class RngPurpose : uint64_t {
  PretrainRow = 1,
  TrainShuffle = 2,
};

class CounterRng {
public:
  CounterRng(uint64_t seed, RngPurpose purpose, uint64_t a, uint64_t b)
      : stream(keyState(seed, purpose, a, b)) {}

  /// The next 64 random bits.
  uint64_t next() { return stream.next(); }

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
  static uint64_t keyState(uint64_t seed, RngPurpose purpose, uint64_t a,
                           uint64_t b) {
    uint64_t key = mix64(seed + SplitMix64::increment);
    key = mix64(key ^ static_cast<uint64_t>(purpose));
    key = mix64(key ^ a);
    return mix64(key ^ b);
  }

  SplitMix64 stream;
};

} // namespace data
} // namespace smxrt

#endif // SMX_APPLICATION_DATA_COUNTER_RNG_H
