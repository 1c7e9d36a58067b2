#include "report.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kalam::conformance {
namespace {

std::string xml_escape(const std::string& in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 has no control characters but tab, newline and return.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          out += ' ';
        } else {
          out += c;
        }
    }
  }
  return out;
}

struct Counts {
  int passed = 0, failed = 0, skipped = 0;
  double seconds = 0;
};

Counts count(const std::vector<CaseResult>& rows) {
  Counts c;
  for (const auto& row : rows) {
    c.passed += row.result == "passed";
    c.failed += row.result == "failed";
    c.skipped += row.result == "skipped";
    c.seconds += row.seconds;
  }
  return c;
}

std::string json_report(const ReportHeader& header,
                        const std::vector<CaseResult>& rows) {
  const Counts c = count(rows);
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    cases.push_back({{"name", row.name},
                     {"result", row.result},
                     {"detail", row.detail},
                     {"seconds", row.seconds}});
  }
  nlohmann::ordered_json doc = {
      {"plugin", header.plugin}, {"version", header.version},
      {"file", header.file},     {"tests", rows.size()},
      {"passed", c.passed},      {"failures", c.failed},
      {"skipped", c.skipped},    {"seconds", c.seconds},
      {"cases", cases}};
  // Replace invalid UTF-8 from a plugin's message rather than throw.
  return doc.dump(2, ' ', false,
                  nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

std::string xml_report(const ReportHeader& header,
                       const std::vector<CaseResult>& rows) {
  const Counts c = count(rows);
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << rows.size() << "\" failures=\"" << c.failed
      << "\" skipped=\"" << c.skipped << "\" time=\"" << c.seconds
      << "\" name=\"kalam-conformance\">\n"
      << "  <testsuite name=\"" << xml_escape(header.plugin) << "\" tests=\""
      << rows.size() << "\" failures=\"" << c.failed << "\" skipped=\""
      << c.skipped << "\" time=\"" << c.seconds << "\">\n"
      << "    <properties>\n"
      << "      <property name=\"version\" value=\""
      << xml_escape(header.version) << "\"/>\n"
      << "      <property name=\"file\" value=\"" << xml_escape(header.file)
      << "\"/>\n"
      << "    </properties>\n";
  for (const auto& row : rows) {
    out << "    <testcase name=\"" << xml_escape(row.name)
        << "\" classname=\"Conformance\" time=\"" << row.seconds << "\"";
    if (row.result == "passed") {
      out << "/>\n";
      continue;
    }
    out << ">\n";
    if (row.result == "skipped") {
      out << "      <skipped message=\"" << xml_escape(row.detail) << "\"/>\n";
    } else {
      out << "      <failure message=\"" << xml_escape(row.detail) << "\">"
          << xml_escape(row.detail) << "</failure>\n";
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace

std::string write_report(const std::string& path, const ReportHeader& header,
                         const std::vector<CaseResult>& rows) {
  const bool json =
      path.size() > 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  std::ofstream file(path, std::ios::trunc);
  if (!file) return "cannot write the report to " + path;
  file << (json ? json_report(header, rows) : xml_report(header, rows));
  file.close();
  if (!file) return "cannot write the report to " + path;
  return "";
}

}  // namespace kalam::conformance
