// The corpus replayer: a main for a harness built without libFuzzer. Every argument is a file or a
// folder (its regular files, in name order); each file's bytes go to LLVMFuzzerTestOneInput once.
// A harness reports a broken invariant by aborting, so a replay that returns 0 found nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& arg) {
    std::vector<std::filesystem::path> out;
    if (std::filesystem::is_directory(arg)) {
        for (const auto& entry : std::filesystem::directory_iterator(arg)) {
            if (entry.is_regular_file()) {
                out.push_back(entry.path());
            }
        }
        std::sort(out.begin(), out.end());
    } else {
        out.push_back(arg);
    }
    return out;
}

} // namespace

int main(int argc, char** argv) {
    std::size_t count = 0;
    for (int i = 1; i < argc; ++i) {
        for (const auto& path : inputs_of(argv[i])) {
            std::ifstream in(path, std::ios::binary);
            if (!in) {
                std::cerr << "replay: cannot read " << path << '\n';
                return 2;
            }
            const std::string bytes{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
            // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
            LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                   bytes.size());
            ++count;
        }
    }
    if (count == 0) {
        std::cerr << "replay: no input files\n";
        return 2;
    }
    std::cout << "replay: " << count << " inputs, no failure\n";
    return 0;
}
