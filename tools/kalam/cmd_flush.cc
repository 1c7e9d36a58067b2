// kalam flush: move a table's hot rows to cold storage now, through the
// table layer's Tables::flush (engine/include/kalam/tables/flush.h).
#include <memory>

#include "cli_error.h"
#include "commands.h"
#include "open_database.h"
#include "output.h"
#include "table_support.h"

namespace kalam::cli {
namespace {

struct FlushOptions {
  std::string table;
};

void run_flush(const CommonOptions& common, const FlushOptions& options) {
  const tables::QualifiedName name = parse_table_name(options.table);
  const std::string qualified = name.ns + "." + name.name;
  OpenedTables t = open_tables(common, Access::kWriteExisting, "kalam flush");
  require_tables(t, "table " + qualified);
  const tables::FlushResult result = value_or_throw(
      t.tables->flush(name.ns, name.name), "cannot flush " + qualified);
  close_tables(&t);
  write_line(
      "flushed " + qualified + ": " + std::to_string(result.rows) +
      " row(s) and " + std::to_string(result.deletions) + " deletion(s) in " +
      std::to_string(result.segments) + " segment(s); " +
      std::to_string(result.removed) + " hot key(s) removed, " +
      std::to_string(result.kept) + " kept (changed while flushing)" +
      (result.compacted > 0
           ? "; " + std::to_string(result.compacted) + " partition(s) compacted"
           : std::string()));
}

}  // namespace

void register_flush(CLI::App& root, CommonOptions* common,
                    CommandList* commands) {
  auto options = std::make_shared<FlushOptions>();
  CLI::App* app = root.add_subcommand(
      "flush", "Move a user or shared table's hot rows to cold storage now");
  add_common_options(app, common);
  app->add_option("TABLE", options->table, "NAMESPACE.NAME")->required();
  set_example(app, "kalam flush app.notes --config kalam.yaml",
              "Reads keep returning every row: flushed rows are read back "
              "from cold storage (by default <data directory>/cold).");
  commands->push_back(
      {app, [common, options] { run_flush(*common, *options); }});
}

}  // namespace kalam::cli
