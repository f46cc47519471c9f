/*
 * Hotspot page map: the zone's outline, the hotspot cells (coloured by Gi_Bin or density class, with the same
 * palette and text labels as the legend table) and the ranked target areas, each fetched as GeoJSON from the same
 * API URLs the download links use. The two overlays are toggled by the checkboxes under the map (plain form
 * controls, so keyboard and screen readers work). GeoJSON is [lon, lat]; L.geoJSON handles the order. Text from the
 * data reaches the page only through textContent, never innerHTML.
 */
/* global L */
(function () {
  'use strict';

  var container = document.getElementById('hotspots-map');
  var panel = document.getElementById('map-panel');
  if (!container || !panel || typeof L === 'undefined' || !window.fetch) { return; }
  var strings = JSON.parse(document.getElementById('hotspots-strings').textContent);
  var colours = JSON.parse(document.getElementById('hotspots-colours').textContent);
  var method = container.getAttribute('data-method');
  var classField = method === 'kde' ? 'density_class' : 'Gi_Bin';
  var palette = colours[method] || {};
  var status = document.getElementById('map-status');

  panel.hidden = false;
  status.textContent = strings.loading;
  var map = L.map(container, {scrollWheelZoom: false});
  L.tileLayer(container.getAttribute('data-tiles-url'), {
    attribution: container.getAttribute('data-tiles-attribution'), maxZoom: 19
  }).addTo(map);
  map.setView([52.7, -1.3], 13);

  function getJSON(url) {
    return fetch(url, {headers: {Accept: 'application/geo+json'}, credentials: 'same-origin'}).then(function (r) {
      if (!r.ok) {
        // A refusal (429 too many requests, 503 busy, 422 a grid too fine) says in its JSON what to do; keep it.
        return r.json().catch(function () { return null; }).then(function (body) {
          var failure = new Error(url + ': ' + r.status);
          failure.said = body && body.error && body.error.message;
          throw failure;
        });
      }
      return r.json();
    });
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) { return key in values ? values[key] : whole; });
  }

  function row(table, label, value) {
    var tr = document.createElement('tr');
    var th = document.createElement('th');
    var td = document.createElement('td');
    th.textContent = label;
    td.textContent = value;
    tr.appendChild(th);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function countText(value) {
    return value === null || value === undefined ? strings.withheld : String(value);
  }

  function cellPopup(feature) {
    var p = feature.properties;
    var box = document.createElement('div');
    var title = document.createElement('strong');
    title.textContent = p.label;
    box.appendChild(title);
    var table = document.createElement('table');
    if (p.GiZScore !== undefined) {
      row(table, strings.z, p.GiZScore);
      row(table, strings.p, p.GiPValue);
    }
    if (p.density !== undefined) { row(table, strings.density, p.density); }
    row(table, strings.count, countText(p.count));
    box.appendChild(table);
    return box;
  }

  function targetPopup(feature) {
    var p = feature.properties;
    var box = document.createElement('div');
    var title = document.createElement('strong');
    title.textContent = format(strings.rank, {rank: p.rank});
    box.appendChild(title);
    var table = document.createElement('table');
    row(table, strings.count, countText(p.records));
    row(table, strings.share, (p.zone_share * 100).toFixed(2) + ' %');
    row(table, strings.streets, (p.streets || []).join(', ') || '–');
    Object.keys(p.counts || {}).forEach(function (category) {
      row(table, category, countText(p.counts[category]));
    });
    box.appendChild(table);
    return box;
  }

  function colourOf(feature) {
    return palette[String(feature.properties[classField])] || null;
  }

  function toggle(checkbox, layer) {
    checkbox.addEventListener('change', function () {
      if (checkbox.checked) { layer.addTo(map); } else { map.removeLayer(layer); }
    });
  }

  Promise.all([
    getJSON(container.getAttribute('data-zone-url')),
    getJSON(container.getAttribute('data-hotspots-url')),
    getJSON(container.getAttribute('data-targets-url'))
  ]).then(function (results) {
    var zone = L.geoJSON(results[0], {
      style: {color: '#1d3557', weight: 2, dashArray: '6 4', fill: false}, interactive: false
    }).addTo(map);
    // Cells that are not significant (or below the first density class) are left undrawn, as the legend says.
    var cells = L.geoJSON(results[1], {
      filter: function (feature) { return colourOf(feature) !== null; },
      style: function (feature) {
        return {color: '#555', weight: 0.5, fillColor: colourOf(feature), fillOpacity: 0.7,
                className: 'hotspot-cell hotspot-class-' + feature.properties[classField]};
      },
      onEachFeature: function (feature, layer) { layer.bindPopup(cellPopup(feature)); }
    }).addTo(map);
    var targets = L.geoJSON(results[2], {
      style: {color: colours.target, weight: 3, fill: true, fillOpacity: 0.05, className: 'target-area'},
      onEachFeature: function (feature, layer) {
        var tip = document.createElement('span');  // Leaflet puts a string tooltip in as HTML; text goes in as text
        tip.textContent = format(strings.rank, {rank: feature.properties.rank});
        layer.bindTooltip(tip);
        layer.bindPopup(targetPopup(feature));
      }
    }).addTo(map);
    toggle(document.getElementById('show-hotspots'), cells);
    toggle(document.getElementById('show-targets'), targets);
    var bounds = zone.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, {padding: [10, 10]}); }
    status.textContent = format(strings.shown, {cells: cells.getLayers().length, areas: targets.getLayers().length});
    container.setAttribute('data-ready', 'true');
  }).catch(function (failure) {
    // The server's words (text only), then where the same results are; a network failure has only the latter.
    status.textContent = failure && failure.said ? failure.said + ' ' + strings.failed : strings.failed;
    status.classList.add('map-status--error');
  });
}());
