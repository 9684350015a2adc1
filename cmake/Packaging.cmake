# Installing the way a distribution ships it (issue 13): `cmake --install` puts the two programs in
# bin, and the desktop file, icons, AppStream metainfo, man pages and the systemd unit where a
# desktop and systemd look for them; CPack's DEB generator makes two packages of it, `anonchat`
# (the desktop app, component "client") and `anonchat-server` (component "server").
# Sources: packaging/. Tested by tests/system/packaging.sh (lintian, then the packaged server).
include(GNUInstallDirs)

# The reverse-DNS id: the .desktop file's name, the metainfo's <id> and the app's desktop file
# name (client/main.cpp) must agree.
set(ANONCHAT_APP_ID "io.github.anonchat.Anonchat")
set(ANONCHAT_PACKAGE_MAINTAINER "anonchat maintainers <maintainers@anonchat.invalid>"
    CACHE STRING "The Maintainer field of the Debian packages")
set(ANONCHAT_PACKAGE_RELEASE "1" CACHE STRING "The Debian revision of the packages")
# Relative to the prefix: /usr/lib/systemd/system in the packages, where Debian 12's systemd and
# lintian look too.
set(ANONCHAT_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING "Where the systemd unit goes")

# Directories made by the install are 0755 whatever the umask (lintian: non-standard-dir-perm).
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(anonchat_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(anonchat_pkg_out ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${anonchat_pkg_out})

# gzip -9n (no name, no time stamp), as Debian wants man pages and changelogs. Done when CMake
# configures; editing a source re-runs it.
function(anonchat_gzip input output)
    find_program(ANONCHAT_GZIP gzip REQUIRED)
    execute_process(COMMAND ${ANONCHAT_GZIP} -9nc INPUT_FILE ${input} OUTPUT_FILE ${output}
                    RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "gzip ${input}: ${result}")
    endif()
    set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${input})
endfunction()

# Files for /usr/share/doc/<package>: the copyright file and a changelog.Debian.gz (lintian).
function(anonchat_package_docs component package)
    set(ANONCHAT_DEB_PACKAGE ${package})
    set(ANONCHAT_DEB_VERSION "${PROJECT_VERSION}-${ANONCHAT_PACKAGE_RELEASE}")
    configure_file(${anonchat_pkg_src}/changelog.Debian.in
                   ${anonchat_pkg_out}/${package}/changelog.Debian @ONLY)
    anonchat_gzip(${anonchat_pkg_out}/${package}/changelog.Debian
                  ${anonchat_pkg_out}/${package}/changelog.Debian.gz)
    install(FILES ${anonchat_pkg_src}/copyright ${anonchat_pkg_out}/${package}/changelog.Debian.gz
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
endfunction()

# ---- the server ------------------------------------------------------------------------------
anonchat_gzip(${anonchat_pkg_src}/anonchat-server.1 ${anonchat_pkg_out}/anonchat-server.1.gz)
install(FILES ${anonchat_pkg_out}/anonchat-server.1.gz
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT server)
install(FILES ${anonchat_pkg_src}/anonchat-server.service
        DESTINATION ${ANONCHAT_SYSTEMD_UNIT_DIR} COMPONENT server)
anonchat_package_docs(server anonchat-server)

# ---- the desktop app -------------------------------------------------------------------------
if(ANONCHAT_BUILD_CLIENT)
    anonchat_gzip(${anonchat_pkg_src}/anonchat.1 ${anonchat_pkg_out}/anonchat.1.gz)
    install(FILES ${anonchat_pkg_out}/anonchat.1.gz
            DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT client)
    install(FILES ${anonchat_pkg_src}/${ANONCHAT_APP_ID}.desktop
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/applications COMPONENT client)
    configure_file(${anonchat_pkg_src}/${ANONCHAT_APP_ID}.metainfo.xml.in
                   ${anonchat_pkg_out}/${ANONCHAT_APP_ID}.metainfo.xml @ONLY)
    install(FILES ${anonchat_pkg_out}/${ANONCHAT_APP_ID}.metainfo.xml
            DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/metainfo COMPONENT client)
    set(anonchat_icons ${CMAKE_INSTALL_DATAROOTDIR}/icons/hicolor)
    install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/anonchat.svg
            DESTINATION ${anonchat_icons}/scalable/apps COMPONENT client)
    foreach(size 16 24 32 48 64 128 256)
        install(FILES ${PROJECT_SOURCE_DIR}/resources/icons/anonchat-${size}.png
                DESTINATION ${anonchat_icons}/${size}x${size}/apps RENAME anonchat.png
                COMPONENT client)
    endforeach()
    anonchat_package_docs(client anonchat)
endif()

# ---- CPack: `cmake --build build --target package`, or `cpack` in the build directory --------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME anonchat)
set(CPACK_PACKAGE_VENDOR anonchat)
set(CPACK_PACKAGE_CONTACT "${ANONCHAT_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL server)
if(ANONCHAT_BUILD_CLIENT)
    list(APPEND CPACK_COMPONENTS_ALL client)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ANONCHAT_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Qt loads its SQL drivers as plugins, which dpkg-shlibdeps cannot see.
set(CPACK_DEBIAN_SERVER_PACKAGE_NAME anonchat-server)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "libqt6sql6-sqlite")
set(CPACK_DEBIAN_SERVER_PACKAGE_SUGGESTS "libqt6sql6-psql, redis-server, nginx")
# The long descriptions: lines of at most 80 characters (lintian), as CPack keeps them.
set(CPACK_DEBIAN_SERVER_DESCRIPTION "talk-to-a-stranger chat server
anonchat pairs people at random (those who share an interest first) for
one-to-one text chats. This package contains the headless server: one port
serves the web page, /healthz, Prometheus /metrics and the WebSocket endpoint;
messages are stored in SQLite (or PostgreSQL), and several servers can share
one queue through Redis. A systemd unit runs it as a sandboxed service.")
set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME anonchat)
set(CPACK_DEBIAN_CLIENT_PACKAGE_DEPENDS "libqt6sql6-sqlite")
set(CPACK_DEBIAN_CLIENT_PACKAGE_SUGGESTS "qt6-wayland")
set(CPACK_DEBIAN_CLIENT_DESCRIPTION "talk-to-a-stranger chat desktop app
anonchat pairs people at random (those who share an interest first) for
one-to-one text chats. This package contains the Qt desktop app. It either
hosts a server on this computer, which friends on the network can open in a
browser, or joins a remote anonchat server.")
include(CPack)
