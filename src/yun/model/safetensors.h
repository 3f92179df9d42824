// Safetensors checkpoints: one file or shards listed by
// model.safetensors.index.json. Files are memory-mapped; tensors are views.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "yun/base/mapped_file.h"
#include "yun/base/status.h"
#include "yun/model/tensor.h"
#include "yun/model/weight_source.h"

namespace yun {

// One .safetensors file. open() validates the whole header: JSON, known
// dtypes, shapes matching byte counts, offsets inside the data area and not
// overlapping. Errors: kInvalidArgument naming the file and the problem.
class SafetensorsFile {
 public:
  // `load`: mapped (default) or read into huge pages (see MappedFile).
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path,
                                                       FileLoad load = FileLoad::kMap);
  // Parses from memory (for fuzzing/tests); `data` must outlive the object.
  static Result<std::unique_ptr<SafetensorsFile>> parse(const uint8_t* data, size_t size,
                                                        const std::string& name);

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const MappedFile& file() const { return file_; }

 private:
  MappedFile file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model directory.
class WeightStore final : public WeightSource {
 public:
  // DIR/model.safetensors, or the shards named in DIR/model.safetensors.index.json.
  // Errors: kNotFound when neither exists; file errors as SafetensorsFile::open.
  static Result<std::shared_ptr<WeightStore>> open_dir(const std::string& model_dir,
                                                       FileLoad load = FileLoad::kMap);

  // WeightSource: safetensors files use the Hugging Face names themselves.
  const TensorView* find(const std::string& name) const override;
  std::vector<std::string> names() const override;
  size_t total_bytes() const override;
  void prefetch() const override;

  std::vector<std::unique_ptr<SafetensorsFile>> files;
  std::map<std::string, const TensorView*> index;
};

}  // namespace yun
