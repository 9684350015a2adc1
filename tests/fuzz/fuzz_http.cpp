// libFuzzer target: the HTTP request-head parser and the response writer (server/httplistener.*).
// Anyone who can reach the port can send these bytes. parseHttpRequestHead must refuse or accept
// every input without crashing, and what it accepts must be what the rest of the server relies
// on: a token for the method, a path that starts with '/' and has no query, lower-case header
// names, values without control characters. A broken rule is an abort(), so that libFuzzer
// reports it as a crash, with the input.

#include "server/net/httplistener.h"

#include <QByteArray>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace anonchat::server;

namespace {

void check(bool condition, const char *what, const QByteArray &detail = {})
{
    if (condition)
        return;
    std::fprintf(stderr, "fuzz_http: %s: %s\n", what,
                 detail.toPercentEncoding(" /:;=,").constData());
    std::abort();
}

bool isTokenChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           QByteArrayView("!#$%&'*+-.^_`|~").contains(c);
}

bool isToken(const QByteArray &s)
{
    if (s.isEmpty())
        return false;
    for (char c : s) {
        if (!isTokenChar(c))
            return false;
    }
    return true;
}

void checkRequest(const HttpRequest &r)
{
    check(isToken(r.method), "method is not a token", r.method);
    check(r.path.startsWith('/'), "path does not start with '/'", r.path);
    check(!r.path.contains('?'), "path has a query", r.path);
    check(r.target.startsWith(r.path), "target does not start with the path", r.target);
    for (char c : r.target)
        check(uchar(c) > 0x20 && uchar(c) < 0x7f, "target has a space or control byte", r.target);
    for (auto it = r.headers.cbegin(); it != r.headers.cend(); ++it) {
        const QByteArray &name = it.key();
        const QByteArray &value = it.value();
        check(isToken(name), "header name is not a token", name);
        check(name == name.toLower(), "header name is not lower case", name);
        check(value == value.trimmed(), "header value not trimmed", value);
        for (char c : value) {
            check((uchar(c) >= 0x20 || c == '\t') && uchar(c) != 0x7f,
                  "control character in a header value", value);
        }
        check(r.header(name) == value, "header() does not find a header", name);
    }
}

// The answer the handler would build from the request: its path, a header echoed back.
void checkResponse(const HttpRequest &request, int status)
{
    HttpResponse response = staticResource(request.path);
    if (response.status == 404) {
        response.status = status;
        response.body = request.target;
        response.headers.emplace_back("Allow", request.header("host"));
    }
    const QByteArray full = serialiseHttpResponse(response, false);
    const QByteArray head = serialiseHttpResponse(response, true);
    check(full.startsWith("HTTP/1.1 " + QByteArray::number(response.status) + ' '),
          "bad status line", full.left(64));
    check(full.startsWith(head), "the HEAD answer is not the GET answer's head", head);
    check(head.endsWith("\r\n\r\n"), "the head does not end with a blank line", head);
    check(full.size() == head.size() + response.body.size(), "body size", full.left(64));
    check(head.contains("\r\nContent-Length: " + QByteArray::number(response.body.size()) + "\r\n"),
          "Content-Length", head);
    check(head.contains("\r\nX-Content-Type-Options: nosniff\r\n"), "nosniff missing", head);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    // HttpListener hands over at most maxHeaderBytes (8 KiB) ending with the blank line.
    if (size > 8 * 1024)
        return 0;
    const QByteArray head(reinterpret_cast<const char *>(data), qsizetype(size));

    HttpRequest request;
    if (!parseHttpRequestHead(head, request))
        return 0;
    checkRequest(request);
    // A status the parser's input chose, including ones without a reason phrase.
    const int status = size ? 100 + uchar(data[size - 1]) * 2 : 200;
    checkResponse(request, status);

    // The listener also parses the head as read from the socket, blank line included.
    if (!head.endsWith("\r\n\r\n")) {
        HttpRequest again;
        if (parseHttpRequestHead(head + "\r\n\r\n", again))
            checkRequest(again);
    }
    return 0;
}
