// anonchat: the desktop app. Everything but this glue is in anonchat_ui (client/ui),
// anonchat_client_app (client/app) and anonchat_client_core (client/core).
#include "client/app/appsettings.h"
#include "client/app/commandline.h"
#include "client/ui/languagemanager.h"
#include "client/ui/mainwindow.h"
#include "server/app/shutdownsignals.h"
#include "server/net/filelimit.h"

#include <QApplication>
#include <cstdio>

using namespace anonchat;
using namespace anonchat::client;

int main(int argc, char *argv[])
{
    // The hosted server's connections are descriptors (it logs the figure when it starts).
    server::raiseOpenFileLimit();
    QApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("anonchat"));
    QCoreApplication::setApplicationVersion(QStringLiteral(ANONCHAT_VERSION));
    // The installed .desktop file (cmake/Packaging.cmake): Wayland matches the window to it.
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.anonchat.Anonchat"));

    AppSettings settings;
    LanguageManager languages;
    // Before parsing, so that --help and the errors are in that language already.
    const QString lang = languageArgument(QCoreApplication::arguments());
    languages.setLanguage(
        lang == QLatin1String("zh_CN") || lang == QLatin1String("en") ? lang : settings.language());

    LaunchOptions options;
    QString message;
    switch (parseCommandLine(QCoreApplication::arguments(), options, &message)) {
    case ParseOutcome::Exit: std::fputs(qPrintable(message), stdout); return 0;
    case ParseOutcome::Error: std::fprintf(stderr, "anonchat: %s\n", qPrintable(message)); return 2;
    case ParseOutcome::Run: break;
    }

    MainWindow window(settings, &languages);
    QObject::connect(window.backend(), &ServerBackend::hostingStarted, [](const QUrl &url) {
        std::printf("anonchat hosting %s\n", qPrintable(url.toString()));
        std::fflush(stdout);
    });
    // Quit only once the local server has committed everything and stopped.
    QApplication::setQuitOnLastWindowClosed(false);
    QObject::connect(&window, &MainWindow::finished, &app, &QCoreApplication::quit);
    server::ShutdownSignals stopSignals;
    QObject::connect(&stopSignals, &server::ShutdownSignals::received, &window,
                     &MainWindow::shutdown);

    window.show();
    window.startWith(startTarget(options, settings));
    return QApplication::exec();
}
