// The model-based random test: a seeded sequence of operations run against
// a plugin and a std::map model, checked step by step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "conformance.h"

namespace kalam::conformance {

struct ModelRun {
  uint64_t seed = 1;
  int steps = 3000;
  // The optional behaviours the sequence may use (KALAM_CAP_* bits among
  // snapshots, reverse_iteration, delete_range, persistent for reopen).
  uint64_t capabilities = 0;
};

// Runs the sequence on `db`. Every observation (read results, scans) is
// checked against the model; the first mismatch is reported as a test
// failure naming the seed and step, and ends the run. Returns the
// observations as text, so runs on different backends can be compared.
std::vector<std::string> run_model(RawDatabase& db, const ModelRun& run);

// The seeds to run: KALAM_CONFORMANCE_SEED (one seed, to replay a failure)
// or the fixed defaults.
std::vector<uint64_t> model_seeds();

}  // namespace kalam::conformance
