#pragma once
/// Blueprints over HTTP: the published blueprints as JSON, their diagrams (cached per definitions
/// version), and diagrams of unpublished sources. Graphviz runs on one dedicated render thread with
/// a bounded queue and a deadline, so a huge graph never holds a request thread for long.

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/diagram.hpp"
#include "teamflow/server/routes.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace teamflow::server {

/// The content type of a diagram format (`image/svg+xml`, `image/png`, `text/vnd.graphviz`).
std::string_view diagram_content_type(engine::DiagramFormat format);

/// `GET /v1/blueprints` item: name, module, field, states, transition count.
boost::json::object blueprint_summary_to_json(const dsl::Blueprint& blueprint,
                                              const dsl::Module* module);

/// `GET /v1/blueprints/{name}`: states, transitions (from, to, owners, criteria text, required
/// fields, validations, checklist, actions, timers), parallels and SLAs.
boost::json::object blueprint_to_json(const dsl::Blueprint& blueprint, const dsl::Module* module);

/// Runs renderings one at a time on its own thread. A caller waits up to a deadline; past it the
/// rendering finishes in the background (Graphviz cannot be cancelled) and its result is dropped.
class RenderQueue {
public:
    /// At most `max_pending` renderings wait or run at once; more are refused.
    explicit RenderQueue(std::size_t max_pending = 4);
    /// Finishes the running rendering, drops the waiting ones and joins the thread.
    ~RenderQueue();
    RenderQueue(const RenderQueue&) = delete;
    RenderQueue& operator=(const RenderQueue&) = delete;

    /// Queues `job`; nullopt when the queue is full.
    std::optional<std::future<engine::DiagramResult>>
    submit(std::function<engine::DiagramResult()> job);

private:
    void run();

    std::size_t max_pending_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::packaged_task<engine::DiagramResult()>> jobs_;
    std::size_t busy_ = 0; ///< queued plus running
    bool stopping_ = false;
    std::thread thread_;
};

/// Limits and shared state of the diagram routes.
struct DiagramOptions {
    /// How long a request waits for its rendering before answering 503.
    std::chrono::milliseconds deadline{10000};
    /// Renderings waiting or running at once; more are answered 503.
    std::size_t max_pending = 4;
    /// Rendered diagrams of published blueprints kept in memory.
    std::size_t cache_entries = 256;
};

/// The rendering machinery behind the routes (shared by their handlers).
class DiagramService {
public:
    explicit DiagramService(DiagramOptions options = {});

    /// Renders `blueprint` of `set` in `format` within the deadline, as an HTTP response: the
    /// image, or 404 (no such blueprint), 422 (too big to draw) or 503 (busy, or too slow to draw).
    /// With a non-empty `cache_key` the image is cached under it for this `set`.
    Response render(std::shared_ptr<const dsl::DefinitionSet> set, const std::string& blueprint,
                    engine::DiagramFormat format, const std::string& cache_key, int missing_status);

private:
    struct Cached {
        const dsl::DefinitionSet* set = nullptr;
        std::shared_ptr<const std::string> data;
    };
    DiagramOptions options_;
    RenderQueue queue_;
    std::mutex cache_mutex_;
    std::map<std::string, Cached> cache_;
};

/// `GET /v1/blueprints`, `GET /v1/blueprints/{name}`, `GET /v1/blueprints/{name}/diagram`,
/// `POST /v1/diagram`. The published set comes from `deps.published_set` (none: no blueprints).
void register_diagram_routes(Service& service, const RouteDeps& deps, DiagramOptions options = {});

} // namespace teamflow::server
