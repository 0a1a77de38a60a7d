# The Debian package (CPack's DEB generator): `cmake --build build --target package` writes
# build/sinkhost_<version>_<arch>.deb. What it holds and why: docs/operations.md, "The Debian
# package"; its test: tests/package/deb_test.sh.
#
# Layout (CPACK_PACKAGING_INSTALL_PREFIX /usr):
#   /usr/bin/sinkhost, /usr/lib/sinkhost/plugins/*.so          the daemon and its plugins
#   /usr/lib/sinkhost/librdkafka.so.1                           only when librdkafka is not the
#                                                               release's own (Debian 12)
#   /etc/sinkhost/sinkhost.yaml                                 the commented config (a conffile)
#   <systemd unit dir>/sinkhost.service                        the hardened unit
#   /usr/share/doc/sinkhost/, /usr/share/man/man1/sinkhost.1.gz the documentation
# The maintainer scripts create the sinkhost user, /var/lib/sinkhost and a data protection token
# (/etc/sinkhost/data-protection-token), and remove them again on purge.

set(deb_dir "${PROJECT_SOURCE_DIR}/deploy/debian")
set(deb_gen "${CMAKE_BINARY_DIR}/debian")
file(MAKE_DIRECTORY "${deb_gen}")

# The release the package is built on and for: its dependencies come from that release's
# libraries, so the version carries it (0.1.0-1+deb12) and a .deb is never taken for the other's.
set(deb_release_id "")
set(deb_codename "")
if(EXISTS /etc/os-release)
  file(STRINGS /etc/os-release os_release_lines REGEX "^(VERSION_ID|VERSION_CODENAME)=")
  foreach(line IN LISTS os_release_lines)
    if(line MATCHES "^VERSION_ID=\"?([0-9]+)")
      set(deb_release_id "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^VERSION_CODENAME=\"?([a-z]+)")
      set(deb_codename "${CMAKE_MATCH_1}")
    endif()
  endforeach()
endif()
set(SINKHOST_DEB_REVISION "1" CACHE STRING "Debian revision of the package (the part after the upstream version)")
set(SINKHOST_DEB_MAINTAINER "sinkhost maintainers <maintainers@users.noreply.h-seed-8a3712ef.example>"
  CACHE STRING "Maintainer field of the Debian package")
set(deb_revision "${SINKHOST_DEB_REVISION}")
if(deb_release_id)
  string(APPEND deb_revision "+deb${deb_release_id}")
endif()

# systemd's unit directory as the release's systemd.pc says (Debian 12: /lib/systemd/system;
# Debian 13, merged /usr: /usr/lib/systemd/system); by the code name when systemd.pc is missing.
pkg_get_variable(deb_unit_dir systemd systemdsystemunitdir)
if(NOT deb_unit_dir)
  if(deb_codename STREQUAL "bookworm")
    set(deb_unit_dir /lib/systemd/system)
  else()
    set(deb_unit_dir /usr/lib/systemd/system)
  endif()
endif()

# librdkafka: the release's own (Debian 13: a dependency on librdkafka1, found by
# dpkg-shlibdeps), or one built from Debian 13's source into SINKHOST_DEPS_PREFIX (Debian 12,
# whose 2.0.2 cannot log in with SCRAM to Kafka 4.x). The latter is carried privately in
# /usr/lib/sinkhost, and the kafka-sink plugin's RUNPATH ($ORIGIN/.., relative, so any install
# prefix works) and the daemon's ($ORIGIN/../lib/sinkhost) find it there. QuickJS is a static
# library on both releases: nothing to carry.
set(deb_private_rdkafka OFF)
if(NOT RDKAFKA_LIBDIR IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
  set(deb_private_rdkafka ON)
  find_library(deb_rdkafka_so NAMES librdkafka.so.1 PATHS "${RDKAFKA_LIBDIR}" NO_DEFAULT_PATH REQUIRED)
  file(REAL_PATH "${deb_rdkafka_so}" deb_rdkafka_real)
  install(FILES "${deb_rdkafka_real}" DESTINATION lib/sinkhost RENAME librdkafka.so.1
    PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  # install(FILES) is not stripped by CPACK_STRIP_FILES (only targets are); the build from source
  # keeps its symbols, which lintian refuses in a package.
  install(CODE "
    if(CMAKE_INSTALL_DO_STRIP)
      execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-unneeded --remove-section=.comment --remove-section=.note
        \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/sinkhost/librdkafka.so.1\" COMMAND_ERROR_IS_FATAL ANY)
    endif()")
  set_target_properties(sinkhost_kafka_sink PROPERTIES INSTALL_RPATH "\$ORIGIN/.." INSTALL_RPATH_USE_LINK_PATH OFF)
  # The daemon links it too (the runtime's cluster mode, runtime/src/cluster): /usr/bin/../lib/sinkhost.
  set_target_properties(sinkhost PROPERTIES INSTALL_RPATH "\$ORIGIN/../lib/sinkhost" INSTALL_RPATH_USE_LINK_PATH OFF)
  message(STATUS "Debian package: librdkafka from ${RDKAFKA_LIBDIR} is carried in /usr/lib/sinkhost")
endif()

# The config file, the unit, the man page and the documentation.
install(FILES "${deb_dir}/sinkhost.yaml" DESTINATION /etc/sinkhost
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES "${deb_dir}/sinkhost.service" DESTINATION "${deb_unit_dir}"
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# Compressed with gzip -9n (no name, no time stamp: the same bytes at every build), as Debian's
# policy wants for man pages and changelogs.
function(sinkhost_deb_gzip source output)
  execute_process(COMMAND gzip -9nc "${source}" OUTPUT_FILE "${output}" COMMAND_ERROR_IS_FATAL ANY)
  set_property(DIRECTORY "${PROJECT_SOURCE_DIR}" APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${source}")
endfunction()
sinkhost_deb_gzip("${deb_dir}/sinkhost.1" "${deb_gen}/sinkhost.1.gz")
set(SINKHOST_DEB_VERSION "${PROJECT_VERSION}-${deb_revision}")
configure_file("${deb_dir}/changelog.in" "${deb_gen}/changelog.Debian" @ONLY)
sinkhost_deb_gzip("${deb_gen}/changelog.Debian" "${deb_gen}/changelog.Debian.gz")
install(FILES "${deb_gen}/sinkhost.1.gz" DESTINATION share/man/man1
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES "${deb_gen}/changelog.Debian.gz" "${deb_dir}/copyright" "${PROJECT_SOURCE_DIR}/README.md"
  DESTINATION share/doc/sinkhost PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# docs/ keeps its place beside README.md, so the README's relative links still work.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/docs" DESTINATION share/doc/sinkhost
  FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
  DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE
  FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sinkhost)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY "${CMAKE_BINARY_DIR}")
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
  OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${SINKHOST_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_RELEASE "${deb_revision}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The summary is the synopsis line; CPack indents the extended description below it.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sink connector host in the style of KurrentDB's connectors")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "sinkhost keeps an embedded event log that clients append to over HTTP or with
the KurrentDB clients (gRPC), and runs connectors that deliver every event to
another system through sink plugins, first of all Apache Kafka (kafka-sink).
Connectors are managed with KurrentDB's REST calls. Delivery is at-least-once:
checkpoints only move past events the destination acknowledged.
.
This package holds the daemon, its plugins, a hardened systemd unit and a
commented configuration file in /etc/sinkhost.")
# Dependencies from the shared libraries the binary, the plugins and a carried librdkafka link;
# the carried one is found in the package itself (-l), not asked of the system.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
if(deb_private_rdkafka)
  # Relative to the staging directory, where CPack runs dpkg-shlibdeps.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS usr/lib/sinkhost)
endif()
# useradd/groupadd/userdel are in passwd (priority required); the scripts also use
# deb-systemd-helper when it is there (init-system-helpers).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
# The maintainer scripts (plain sh) and the conffiles list.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${deb_dir}/conffiles;${deb_dir}/postinst;${deb_dir}/prerm;${deb_dir}/postrm")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
message(STATUS "Debian package: sinkhost ${PROJECT_VERSION}-${deb_revision}, unit in ${deb_unit_dir}")
include(CPack)
