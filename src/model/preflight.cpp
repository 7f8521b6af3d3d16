#include "model/preflight.h"

#include "gguf/gguf.h"
#include "model/model.h"

namespace ringlm {

Status preflight(const std::vector<HeaderPart>& parts, const EngineOptions& options, Preflight* out) {
  *out = Preflight();
  if (parts.empty()) return Status::error("no model data");
  GgufFile file;
  uint64_t file_bytes = 0, more = 0;
  for (size_t i = 0; i < parts.size(); i++) {
    const HeaderPart& p = parts[i];
    file_bytes += p.file_size;
    const Status s = i == 0 ? file.parse_header(p.data, p.available, p.file_size, &more)
                            : file.add_part_header(p.data, p.available, p.file_size, p.name, &more);
    if (more > 0) {  // not malformed, only cut short: ask for more of this part
      out->need_part = int(i);
      out->need_bytes = more;
      return Status();
    }
    RINGLM_TRY(s);
  }
  RINGLM_TRY(file.complete());
  Model model;
  RINGLM_TRY(Model::from_gguf(file, &model));
  out->architecture = model.config.architecture;
  return Engine::fit(model.config, file_bytes, options, &out->fit);
}

}  // namespace ringlm
